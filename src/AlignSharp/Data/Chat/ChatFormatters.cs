using System.Text.Json.Nodes;

namespace AlignSharp.Data.Chat;

/// <summary>Picks the chat template for a model or tokenizer folder.</summary>
public static class ChatFormatters
{
    /// <summary>
    /// The folder's own template (<c>chat_template</c> in tokenizer_config.json, or chat_template.jinja) when it has one,
    /// else the <see cref="PlainChatFormatter"/>. A null folder (e.g. the byte tokenizer) gives the plain template.
    /// </summary>
    public static IChatFormatter ForFolder(string? folder)
    {
        if (folder is null || !Directory.Exists(folder)) return new PlainChatFormatter();
        var config = Path.Combine(folder, "tokenizer_config.json");
        bool has = File.Exists(Path.Combine(folder, "chat_template.jinja"))
            || (File.Exists(config) && JsonNode.Parse(File.ReadAllText(config)) is JsonObject o && o.ContainsKey("chat_template"));
        return has ? TemplateChatFormatter.FromTokenizerConfig(config) : new PlainChatFormatter();
    }
}
