namespace AlignSharp.Data.Chat;

/// <summary>
/// The fallback chat template, used when the model has none: each message is <c>&lt;|role|&gt;\n</c> followed by
/// its content and a newline; the generation prompt is <c>&lt;|assistant|&gt;\n</c>. For example
/// <code>
/// &lt;|system|&gt;
/// Be brief.
/// &lt;|user|&gt;
/// Hi
/// &lt;|assistant|&gt;
/// Hello!
/// </code>
/// The markers are plain text (no special tokens), so any tokenizer encodes them.
/// </summary>
public sealed class PlainChatFormatter : IChatFormatter
{
    /// <inheritdoc />
    public string Name => "plain-v1";

    /// <inheritdoc />
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var m in messages) sb.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append('\n');
        if (addGenerationPrompt) sb.Append("<|assistant|>\n");
        return sb.ToString();
    }
}
