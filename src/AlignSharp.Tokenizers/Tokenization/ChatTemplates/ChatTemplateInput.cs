using System.Text.Json.Nodes;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// The variables of one chat-template rendering, as Hugging Face's <c>apply_chat_template</c> passes them.
/// They are bound in this order (later wins): special tokens, <c>messages</c>, <c>tools</c> (None when absent),
/// <c>documents</c> (None when absent), <c>add_generation_prompt</c>, then every entry of <see cref="Extra"/>.
/// </summary>
/// <param name="Messages">The conversation: objects with <c>role</c> and <c>content</c> (a string, a list of parts, or null) and optionally <c>tool_calls</c>, <c>tool_call_id</c>, <c>name</c>.</param>
public sealed record ChatTemplateInput(JsonArray Messages)
{
    /// <summary>Whether to end with the header that opens an assistant turn.</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary>Tool (function) schemas, or null (the template then sees <c>tools</c> defined and equal to none).</summary>
    public JsonArray? Tools { get; init; }

    /// <summary>Retrieval documents for RAG templates, or null.</summary>
    public JsonArray? Documents { get; init; }

    /// <summary>
    /// Special-token variables (<c>bos_token</c>, <c>eos_token</c>, ..., <c>additional_special_tokens</c> as a list);
    /// entries override those the template was loaded with (<see cref="ChatTemplate.SpecialTokens"/>).
    /// </summary>
    public JsonObject? SpecialTokens { get; init; }

    /// <summary>Extra keyword variables (e.g. <c>date_string</c>, <c>tools_in_user_message</c>, <c>builtin_tools</c>).</summary>
    public JsonObject? Extra { get; init; }
}
