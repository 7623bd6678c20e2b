namespace AlignSharp.Data.Chat;

/// <summary>
/// Renders a conversation as the text a model was trained on (its chat template). Conversational preference data is
/// rendered through this seam: the prompt with <c>addGenerationPrompt: true</c>, each completion as the rendering of
/// prompt + completion minus the rendered prompt (which must be its prefix).
/// </summary>
public interface IChatFormatter
{
    /// <summary>A stable name identifying the template (part of the tokenized-data cache key).</summary>
    string Name { get; }

    /// <summary>Renders <paramref name="messages"/>; with <paramref name="addGenerationPrompt"/> the text ends where the assistant's answer begins.</summary>
    string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt);
}
