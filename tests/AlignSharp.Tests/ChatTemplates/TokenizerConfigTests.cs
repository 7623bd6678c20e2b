using System.Text.Json.Nodes;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary><see cref="ChatTemplate.FromTokenizerConfig"/>: template selection and special tokens from tokenizer_config.json.</summary>
public sealed class TokenizerConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("alignsharp-chat-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteConfig(string json)
    {
        var path = Path.Combine(_dir, "tokenizer_config.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static ChatTemplateInput OneUserTurn() => new(JsonNode.Parse("""[{"role": "user", "content": "hi"}]""")!.AsArray()) { AddGenerationPrompt = true };

    [Fact]
    public void Loads_template_and_special_tokens_including_added_token_objects()
    {
        var path = WriteConfig("""
            {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
             "eos_token": "</s>",
             "additional_special_tokens": ["<x>", {"content": "<y>"}],
             "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}{{ additional_special_tokens|join(',') }}"}
            """);
        var template = ChatTemplate.FromTokenizerConfig(path);
        Assert.Equal("<s>[hi]</s><x>,<y>", template.Render(OneUserTurn()));
        // Tokens given with the input override the file's.
        Assert.Equal("<BOS>[hi]</s><x>,<y>", template.Render(OneUserTurn() with { SpecialTokens = new JsonObject { ["bos_token"] = "<BOS>" } }));
    }

    [Fact]
    public void Picks_the_default_entry_of_a_named_template_list()
    {
        var path = WriteConfig("""
            {"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain"}]}
            """);
        Assert.Equal("plain", ChatTemplate.FromTokenizerConfig(path).Render(OneUserTurn()));
        Assert.Equal("tools", ChatTemplate.FromTokenizerConfig(path, "tool_use").Render(OneUserTurn()));
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.FromTokenizerConfig(path, "rag"));
        Assert.Contains("no template named 'rag'", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Missing_template_names_the_file_and_key()
    {
        var path = WriteConfig("""{"eos_token": "</s>"}""");
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.FromTokenizerConfig(path));
        Assert.Equal($"chat template: {path}: no 'chat_template' key (and no chat_template.jinja next to it)", ex.Message);
    }

    [Fact]
    public void Falls_back_to_a_sibling_chat_template_jinja()
    {
        var path = WriteConfig("""{"eos_token": "</s>"}""");
        File.WriteAllText(Path.Combine(_dir, "chat_template.jinja"), "{{ messages[0].content }}{{ eos_token }}\n");
        Assert.Equal("hi</s>", ChatTemplate.FromTokenizerConfig(path).Render(OneUserTurn()));
    }

    [Fact]
    public void Syntax_error_in_the_config_template_names_the_file()
    {
        var path = WriteConfig("""{"chat_template": "{% for m in messages %}"}""");
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.FromTokenizerConfig(path));
        Assert.StartsWith($"chat template: {path}: key 'chat_template': chat template line 1: unexpected end of template", ex.Message);
    }
}
