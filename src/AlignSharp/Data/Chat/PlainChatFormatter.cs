namespace AlignSharp.Data.Chat;

/// <summary>
/// The built-in chat template for models that have none, used only when a run asks for it
/// (<c>data.chat_template: plain</c>): each message is <c>&lt;|role|&gt;\n</c> followed by
/// its content and a newline; the generation prompt is <c>&lt;|assistant|&gt;\n</c>. For example
/// <code>
/// &lt;|system|&gt;
/// Be brief.
/// &lt;|user|&gt;
/// Hi
/// &lt;|assistant|&gt;
/// Hello!
/// </code>
/// The markers are plain text (no special tokens), so any tokenizer encodes them. <see cref="Jinja"/> is the same
/// template as Hugging Face chat-template source, saved into a run's <c>tokenizer_config.json</c>.
/// </summary>
public sealed class PlainChatFormatter : IChatFormatter
{
    /// <summary>This template as Jinja source (what <c>apply_chat_template</c> and <c>generate --chat</c> render).</summary>
    public const string Jinja =
        "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}";

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
