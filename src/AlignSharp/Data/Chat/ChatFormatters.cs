using System.Text.Json.Nodes;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Data.Chat;

/// <summary>Finds the chat template of a model or tokenizer folder.</summary>
public static class ChatFormatters
{
    /// <summary>
    /// The folder's own template (<c>chat_template</c> in tokenizer_config.json, or chat_template.jinja), or null when
    /// it has none. There is no silent fallback: a caller that needs a template decides what "none" means.
    /// </summary>
    public static ChatTemplate? TemplateOf(string folder)
    {
        var config = Path.Combine(folder, "tokenizer_config.json");
        var jinja = Path.Combine(folder, "chat_template.jinja");
        bool inConfig = File.Exists(config) && JsonNode.Parse(File.ReadAllText(config)) is JsonObject o
            && o.ContainsKey("chat_template");
        if (inConfig || (File.Exists(config) && File.Exists(jinja))) return ChatTemplate.FromTokenizerConfig(config);
        return File.Exists(jinja) ? ChatTemplate.Parse(File.ReadAllText(jinja)) : null;
    }
}
