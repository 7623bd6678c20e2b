using System.Text.Json;
using System.Text.Json.Nodes;

namespace AlignSharp.Tokenization.ChatTemplates;

// Why a purpose-built renderer: no Jinja2 engine exists on NuGet. The Liquid engines (Fluid, Scriban) fail on
// real templates ({% set %}, '+' concatenation, loop.*, raise_exception), and running the npm package
// @huggingface/jinja under Jint is incomplete (no 'reject' filter on arrays, so Llama 3.1's built-in-tools
// template fails). Chat templates use a small, stable Jinja2 subset, so this folder implements exactly that subset
// (Lexer -> Parser -> syntax tree -> Evaluator) with Jinja2 3.1 semantics and Hugging Face's environment:
// trim_blocks, lstrip_blocks, loopcontrols, no autoescape, tojson = json.dumps(ensure_ascii=False),
// raise_exception and strftime_now globals. Anything outside the subset is rejected with an error naming it.

/// <summary>
/// A Hugging Face chat template (the Jinja2 <c>chat_template</c> of <c>tokenizer_config.json</c>), parsed once and
/// rendered any number of times, character for character as <c>tokenizer.apply_chat_template(..., tokenize=False)</c>.
/// Instances are immutable and safe to share between threads.
/// </summary>
public sealed class ChatTemplate
{
    private static readonly string[] SpecialTokenKeys =
        ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens"];

    private readonly IReadOnlyList<Node> _body;
    private readonly JsonObject _specialTokens;

    private ChatTemplate(string source, IReadOnlyList<Node> body, JsonObject specialTokens)
    {
        Source = source;
        _body = body;
        _specialTokens = specialTokens;
    }

    /// <summary>The template source as given.</summary>
    public string Source { get; }

    /// <summary>The special-token variables this template renders with by default (a copy; empty when parsed from a bare string).</summary>
    public JsonObject SpecialTokens => (JsonObject)_specialTokens.DeepClone();

    /// <summary>
    /// Parses <paramref name="source"/>. Syntax errors, unknown tags/filters/tests and unsupported constructs throw
    /// <see cref="ChatTemplateException"/> naming the construct and the template line.
    /// </summary>
    /// <param name="source">The Jinja2 template text, exactly as shipped (do not trim it).</param>
    /// <param name="specialTokens">Default special-token variables (e.g. <c>{"bos_token": "&lt;s&gt;"}</c>), or null.</param>
    public static ChatTemplate Parse(string source, JsonObject? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var body = Parser.Parse(source);
        return new ChatTemplate(source, body, specialTokens is null ? [] : (JsonObject)specialTokens.DeepClone());
    }

    /// <summary>
    /// Loads the <c>chat_template</c> of a <c>tokenizer_config.json</c> (a string, or a list of named templates of which
    /// <paramref name="name"/> or "default" is taken; when the key is absent, a sibling <c>chat_template.jinja</c> is used)
    /// together with the file's special tokens.
    /// </summary>
    public static ChatTemplate FromTokenizerConfig(string path, string? name = null)
    {
        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new ChatTemplateException($"{path}: the file is not a JSON object", 0);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new ChatTemplateException($"{path}: cannot read tokenizer config ({e.Message})", 0, e);
        }
        var source = SelectTemplate(path, config, name);
        var tokens = SpecialTokensOf(path, config);
        try
        {
            return Parse(source, tokens);
        }
        catch (ChatTemplateException e)
        {
            throw new ChatTemplateException($"{path}: key 'chat_template': {e.Message}", 0, e);
        }
    }

    /// <summary>
    /// The special-token variables (<c>bos_token</c>, <c>eos_token</c>, ...) of a <c>tokenizer_config.json</c>, for a
    /// template that comes from elsewhere (a .jinja file) but renders with this tokenizer's tokens.
    /// </summary>
    public static JsonObject SpecialTokensOf(string path)
    {
        try
        {
            return SpecialTokensOf(path, JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new ChatTemplateException($"{path}: the file is not a JSON object", 0));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new ChatTemplateException($"{path}: cannot read tokenizer config ({e.Message})", 0, e);
        }
    }

    private static JsonObject SpecialTokensOf(string path, JsonObject config)
    {
        var tokens = new JsonObject();
        foreach (var key in SpecialTokenKeys)
        {
            if (!config.TryGetPropertyValue(key, out var value) || value is null) continue;
            tokens[key] = key == "additional_special_tokens"
                ? new JsonArray(((value as JsonArray) ?? []).Select(t => (JsonNode?)TokenText(path, key, t)).ToArray())
                : TokenText(path, key, value);
        }
        return tokens;
    }

    private static string SelectTemplate(string path, JsonObject config, string? name)
    {
        var node = config["chat_template"];
        switch (node)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return v.GetValue<string>();
            case JsonArray list:
                var wanted = name ?? "default";
                foreach (var entry in list)
                {
                    if (entry?["name"]?.GetValue<string>() == wanted && entry["template"] is JsonValue t) return t.GetValue<string>();
                }
                var names = string.Join(", ", list.Select(e => e?["name"]?.ToJsonString() ?? "?"));
                throw new ChatTemplateException($"{path}: key 'chat_template' has no template named '{wanted}' (available: {names})", 0);
            case null:
                var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", "chat_template.jinja");
                if (File.Exists(sibling)) return File.ReadAllText(sibling);
                throw new ChatTemplateException($"{path}: no 'chat_template' key (and no chat_template.jinja next to it)", 0);
            default:
                throw new ChatTemplateException($"{path}: key 'chat_template' must be a string or a list of {{name, template}}", 0);
        }
    }

    /// <summary>A special token is either a string or an AddedToken object with a "content" string.</summary>
    private static string TokenText(string path, string key, JsonNode? token) => token switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonObject o when o["content"] is JsonValue c && c.GetValueKind() == JsonValueKind.String => c.GetValue<string>(),
        _ => throw new ChatTemplateException($"{path}: key '{key}' must be a string or an object with a 'content' string", 0),
    };

    /// <summary>
    /// Renders the template. Throws <see cref="ChatTemplateRaisedException"/> (message = the template's own text) when
    /// the template calls <c>raise_exception</c>, and <see cref="ChatTemplateException"/> for other runtime errors.
    /// </summary>
    /// <param name="input">Messages, flags, tools, special tokens and extra variables.</param>
    /// <param name="clock">Clock for <c>strftime_now</c> (local time); the system clock when null.</param>
    public string Render(ChatTemplateInput input, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var time = clock ?? TimeProvider.System;
        var variables = new List<KeyValuePair<string, object?>>();
        foreach (var (k, v) in _specialTokens) variables.Add(new(k, JsonToPython.Convert(v)));
        if (input.SpecialTokens is not null)
        {
            foreach (var (k, v) in input.SpecialTokens) variables.Add(new(k, JsonToPython.Convert(v)));
        }
        variables.Add(new("messages", JsonToPython.Convert(input.Messages)));
        variables.Add(new("tools", JsonToPython.Convert(input.Tools)));
        variables.Add(new("documents", JsonToPython.Convert(input.Documents)));
        variables.Add(new("add_generation_prompt", input.AddGenerationPrompt));
        if (input.Extra is not null)
        {
            foreach (var (k, v) in input.Extra) variables.Add(new(k, JsonToPython.Convert(v)));
        }
        return new Evaluator(() => time.GetLocalNow().DateTime).Render(_body, variables);
    }
}
