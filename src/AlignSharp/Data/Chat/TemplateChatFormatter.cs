using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Data.Chat;

/// <summary>Renders conversations with a model's own Hugging Face chat template (the Jinja renderer in Tokenization).</summary>
public sealed class TemplateChatFormatter(ChatTemplate template) : IChatFormatter
{
    /// <summary>Loads the template of a model folder's <c>tokenizer_config.json</c>.</summary>
    public static TemplateChatFormatter FromTokenizerConfig(string path) => new(ChatTemplate.FromTokenizerConfig(path));

    /// <inheritdoc />
    public string Name { get; } = "jinja-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template.Source + template.SpecialTokens.ToJsonString())))[..16];

    /// <inheritdoc />
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var array = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
        return template.Render(new ChatTemplateInput(array) { AddGenerationPrompt = addGenerationPrompt });
    }
}
