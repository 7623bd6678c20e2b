namespace AlignSharp.Data.Chat;

/// <summary>
/// Stands for "this tokenizer has no chat template": records that need one (conversational data) stop the load with
/// <see cref="MissingChatTemplateException"/>, whose message says how to give one; other records never render.
/// </summary>
/// <param name="tokenizer">The tokenizer that lacks a template, as the run names it (a folder, or "byte").</param>
/// <param name="fix">What the user can do, e.g. "set data.chat_template to ... or to 'plain'".</param>
public sealed class MissingChatTemplate(string tokenizer, string fix) : IChatFormatter
{
    /// <inheritdoc />
    public string Name => "none";

    /// <inheritdoc />
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) =>
        throw new MissingChatTemplateException(
            $"conversational records need a chat template and tokenizer '{tokenizer}' has none: {fix}");
}

/// <summary>Conversational data met a tokenizer without a chat template (the message names the fix).</summary>
public sealed class MissingChatTemplateException(string message) : AlignSharpException(message);
