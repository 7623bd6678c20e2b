using System.Text.Json.Nodes;

namespace AlignSharp.Models;

/// <summary>
/// Typed, error-naming access to the keys of a Hugging Face <c>config.json</c>, handed to each model family's parser.
/// An explicit JSON null counts as absent (HF writes <c>"head_dim": null</c> for "derive it"). Errors are
/// <see cref="ModelConfigException"/>s naming the file and key (the checkpoint loader reports them as its own).
/// </summary>
public sealed class HfConfigReader(JsonObject json, string source)
{
    /// <summary>The file (or description) errors name, e.g. <c>/models/x/config.json</c>.</summary>
    public string Source => source;

    private readonly HashSet<string> keysRead = new(StringComparer.Ordinal);

    /// <summary>Every key looked up so far (docs/models.md's test checks each family reads only the keys it lists).</summary>
    public IReadOnlyCollection<string> KeysRead => keysRead;

    /// <summary>The raw node under <paramref name="key"/>, or null when absent or null.</summary>
    public JsonNode? Node(string key)
    {
        keysRead.Add(key);
        return json.TryGetPropertyValue(key, out var n) ? n : null;
    }

    /// <summary>An error naming the file and the key: <c>"{source}: '{key}' {problem}"</c>.</summary>
    public ModelConfigException Error(string key, string problem) => new($"{source}: '{key}' {problem}");

    /// <summary>A string value, or null when absent.</summary>
    public string? String(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw Error(key, "must be a string"),
    };

    /// <summary>An integer value (1.0 counts as 1), or null when absent.</summary>
    public int? Int(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) => i,
        JsonValue v when v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue => (int)d,
        _ => throw Error(key, "must be an integer"),
    };

    /// <summary>A required integer: absent is an error naming the key.</summary>
    public int RequiredInt(string key) => Int(key) ?? throw Error(key, "missing");

    /// <summary>A number, or null when absent.</summary>
    public double? Double(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out double d) => d,
        _ => throw Error(key, "must be a number"),
    };

    /// <summary>A boolean, or null when absent.</summary>
    public bool? Bool(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        _ => throw Error(key, "must be true or false"),
    };

    /// <summary>One integer or a list of integers (HF's <c>eos_token_id</c>); absent is empty.</summary>
    public IReadOnlyList<int> IntList(string key) => Node(key) switch
    {
        null => [],
        JsonArray a => a.Select((n, i) => n is JsonValue v && v.TryGetValue(out int x)
            ? x
            : throw Error(key, $"entry {i} must be an integer")).ToArray(),
        _ => Int(key) is int one ? [one] : [],
    };

    /// <summary>A list of strings (e.g. <c>layer_types</c>), or null when absent.</summary>
    public IReadOnlyList<string>? StringList(string key) => Node(key) switch
    {
        null => null,
        JsonArray a => a.Select((n, i) => n is JsonValue v && v.TryGetValue(out string? s)
            ? s
            : throw Error(key, $"entry {i} must be a string")).ToArray(),
        _ => throw Error(key, "must be a list of strings"),
    };

    /// <summary>A nested object read with the same rules, its errors naming <c>{source} ({key})</c>; null when absent.</summary>
    public HfConfigReader? Object(string key) => Node(key) switch
    {
        null => null,
        JsonObject o => new HfConfigReader(o, $"{source} ({key})"),
        _ => throw Error(key, "must be an object or null"),
    };
}

/// <summary>A model config (<c>config.json</c>) has a missing, malformed or unsupported value; the message names the file
/// and key.</summary>
public sealed class ModelConfigException(string message, Exception? inner = null) : AlignSharpException(message, inner);
