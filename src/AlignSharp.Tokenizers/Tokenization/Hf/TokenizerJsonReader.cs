using System.Text.Json;
using System.Text.RegularExpressions;

namespace AlignSharp.Tokenization.Hf;

/// <summary>The parts of a Hugging Face <c>tokenizer.json</c> that <see cref="HfTokenizer"/> runs.</summary>
internal sealed record TokenizerPipeline(
    BpeModel Model,
    Dictionary<string, int> Vocab,
    IReadOnlyList<AddedToken> AddedTokens,
    TextNormalizer? Normalizer,
    PreTokenizerStep? PreTokenizer,
    SpecialTokenTemplate Template,
    TokenDecoder? Decoder);

/// <summary>
/// Reads <c>tokenizer.json</c> into a <see cref="TokenizerPipeline"/>. Every unsupported component or malformed
/// key is a <see cref="TokenizerException"/> naming the file and the JSON path.
/// </summary>
internal static class TokenizerJsonReader
{
    public static TokenizerPipeline Read(string path)
    {
        if (!File.Exists(path)) throw new TokenizerException($"{path}: file not found (expected a Hugging Face tokenizer.json)");
        JsonDocument doc;
        try
        {
            using var stream = File.OpenRead(path);
            doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message}", e);
        }
        using var _ = doc;
        try
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerException($"{path}: expected a JSON object at the top level");
            var ctx = new Context(path);
            var (model, vocab) = ReadModel(ctx, Property(root, "model") ?? throw ctx.Error("model", "is missing"));
            // Hugging Face gives an added token whose content is already in the model vocabulary the model's id,
            // whatever id the file states (it only warns); do the same.
            var added = ReadAddedTokens(ctx, Property(root, "added_tokens"))
                .ConvertAll(t => vocab.TryGetValue(t.Content, out int id) && id != t.Id ? t with { Id = id } : t);
            var normalizer = ReadNormalizer(ctx, Property(root, "normalizer"), "normalizer");
            var pre = ReadPreTokenizer(ctx, Property(root, "pre_tokenizer"), "pre_tokenizer");
            var template = ReadPostProcessor(ctx, Property(root, "post_processor"), "post_processor", vocab, added);
            var decoder = ReadDecoder(ctx, Property(root, "decoder"), "decoder");
            return new TokenizerPipeline(model, vocab, added, normalizer, pre, template, decoder);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new TokenizerException($"{path}: a value has the wrong JSON type or shape: {e.Message}", e);
        }
    }

    private sealed record Context(string Path)
    {
        public TokenizerException Error(string key, string problem) => new($"{Path}: {key} {problem}");

        public TokenizerException Unsupported(string key, string? type, string supported) =>
            new($"{Path}: {key} type '{type}' is not supported (supported: {supported})");
    }

    /// <summary>The property's value, or null when it is absent or JSON null.</summary>
    private static JsonElement? Property(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static string? String(JsonElement obj, string name) =>
        Property(obj, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static bool Bool(JsonElement obj, string name, bool fallback = false) =>
        Property(obj, name) is { } v && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    private static (BpeModel, Dictionary<string, int>) ReadModel(Context ctx, JsonElement model)
    {
        string type = String(model, "type") ?? (Property(model, "merges") is not null ? "BPE" : "?");
        if (type != "BPE") throw ctx.Unsupported("model", type, "BPE");
        if (!string.IsNullOrEmpty(String(model, "continuing_subword_prefix")))
            throw ctx.Error("model.continuing_subword_prefix", "is not supported (only empty or null)");
        if (!string.IsNullOrEmpty(String(model, "end_of_word_suffix")))
            throw ctx.Error("model.end_of_word_suffix", "is not supported (only empty or null)");
        if (Property(model, "dropout") is { ValueKind: JsonValueKind.Number } d && d.GetDouble() > 0)
            throw ctx.Error("model.dropout", "is not supported (BPE dropout is a training-time augmentation)");

        var vocabElement = Property(model, "vocab");
        if (vocabElement is not { ValueKind: JsonValueKind.Object } vocabObj) throw ctx.Error("model.vocab", "is missing or not an object");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabObj.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw ctx.Error($"model.vocab[\"{entry.Name}\"]", "is not a non-negative integer id");
            vocab[entry.Name] = id;
        }

        var merges = new List<(string, string)>();
        if (Property(model, "merges") is { } mergesElement)
        {
            if (mergesElement.ValueKind != JsonValueKind.Array) throw ctx.Error("model.merges", "is not an array");
            int i = 0;
            foreach (var m in mergesElement.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    var parts = m.GetString()!.Split(' ');
                    if (parts.Length != 2) throw ctx.Error($"model.merges[{i}]", $"'{m.GetString()}' is not two tokens separated by one space");
                    merges.Add((parts[0], parts[1]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                else throw ctx.Error($"model.merges[{i}]", "is neither \"a b\" nor [\"a\", \"b\"]");
                i++;
            }
        }
        var bpe = new BpeModel(vocab, merges, String(model, "unk_token"), Bool(model, "fuse_unk"), Bool(model, "byte_fallback"),
            Bool(model, "ignore_merges"), ctx.Path);
        return (bpe, vocab);
    }

    private static List<AddedToken> ReadAddedTokens(Context ctx, JsonElement? element)
    {
        var tokens = new List<AddedToken>();
        if (element is null) return tokens;
        if (element.Value.ValueKind != JsonValueKind.Array) throw ctx.Error("added_tokens", "is not an array");
        int i = 0;
        foreach (var t in element.Value.EnumerateArray())
        {
            string? content = String(t, "content");
            if (content is null || Property(t, "id") is not { ValueKind: JsonValueKind.Number } idElement || !idElement.TryGetInt32(out int id) || id < 0)
                throw ctx.Error($"added_tokens[{i}]", "needs a string 'content' and a non-negative integer 'id'");
            tokens.Add(new AddedToken(id, content, Bool(t, "special"), Bool(t, "normalized", fallback: !Bool(t, "special")),
                Bool(t, "lstrip"), Bool(t, "rstrip"), Bool(t, "single_word")));
            i++;
        }
        return tokens;
    }

    private static (string? Literal, Regex? Regex) ReadPattern(Context ctx, JsonElement owner, string key)
    {
        var pattern = Property(owner, "pattern") ?? throw ctx.Error($"{key}.pattern", "is missing");
        if (String(pattern, "String") is { } literal) return (literal, null);
        if (String(pattern, "Regex") is { } regex)
        {
            try
            {
                return (null, new Regex(regex, RegexOptions.Compiled | RegexOptions.CultureInvariant));
            }
            catch (ArgumentException e)
            {
                throw new TokenizerException($"{ctx.Path}: {key}.pattern.Regex '{regex}' is not a regex .NET supports: {e.Message}", e);
            }
        }
        throw ctx.Error($"{key}.pattern", "needs a 'String' or 'Regex' member");
    }

    private static TextNormalizer? ReadNormalizer(Context ctx, JsonElement? element, string key)
    {
        if (element is not { } n) return null;
        string? type = String(n, "type");
        switch (type)
        {
            case "NFC": return new NfcNormalizer();
            case "NFD": return new NfdNormalizer();
            case "Lowercase": return new LowercaseNormalizer();
            case "Prepend": return new PrependNormalizer(String(n, "prepend") ?? throw ctx.Error($"{key}.prepend", "is missing"));
            case "Replace":
                var (literal, regex) = ReadPattern(ctx, n, key);
                return new ReplaceNormalizer(literal, regex, String(n, "content") ?? throw ctx.Error($"{key}.content", "is missing"));
            case "Sequence":
                var steps = new List<TextNormalizer>();
                int i = 0;
                foreach (var s in (Property(n, "normalizers") ?? throw ctx.Error($"{key}.normalizers", "is missing")).EnumerateArray())
                    if (ReadNormalizer(ctx, s, $"{key}.normalizers[{i++}]") is { } step) steps.Add(step);
                return new SequenceNormalizer(steps);
            default: throw ctx.Unsupported(key, type, "NFC, NFD, Lowercase, Prepend, Replace, Sequence");
        }
    }

    private static PreTokenizerStep? ReadPreTokenizer(Context ctx, JsonElement? element, string key)
    {
        if (element is not { } p) return null;
        string? type = String(p, "type");
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevelPreTokenizer(Bool(p, "add_prefix_space"), Bool(p, "use_regex", fallback: true));
            case "Digits":
                return new DigitsPreTokenizer(Bool(p, "individual_digits"));
            case "Split":
                if (Bool(p, "invert")) throw ctx.Error($"{key}.invert", "= true is not supported");
                string? behavior = String(p, "behavior");
                if (behavior is not ("Isolated" or "Removed")) throw ctx.Error($"{key}.behavior", $"'{behavior}' is not supported (supported: Isolated, Removed)");
                var (literal, regex) = ReadPattern(ctx, p, key);
                regex ??= new Regex(Regex.Escape(literal!), RegexOptions.CultureInvariant);
                return new RegexSplitPreTokenizer(new CodePointRegex(regex), behavior == "Removed");
            case "Metaspace":
                return new MetaspacePreTokenizer(ReadReplacement(ctx, p, key), ReadPrepend(ctx, p, key), Bool(p, "split", fallback: true));
            case "Sequence":
                var steps = new List<PreTokenizerStep>();
                int i = 0;
                foreach (var s in (Property(p, "pretokenizers") ?? throw ctx.Error($"{key}.pretokenizers", "is missing")).EnumerateArray())
                    if (ReadPreTokenizer(ctx, s, $"{key}.pretokenizers[{i++}]") is { } step) steps.Add(step);
                return new SequencePreTokenizer(steps);
            default: throw ctx.Unsupported(key, type, "ByteLevel, Digits, Split, Metaspace, Sequence");
        }
    }

    private static char ReadReplacement(Context ctx, JsonElement e, string key)
    {
        string? r = String(e, "replacement");
        if (r is null || r.Length != 1) throw ctx.Error($"{key}.replacement", "must be one character");
        return r[0];
    }

    private static MetaspacePrepend ReadPrepend(Context ctx, JsonElement e, string key) => String(e, "prepend_scheme") switch
    {
        "first" => MetaspacePrepend.First,
        "always" => MetaspacePrepend.Always,
        "never" => MetaspacePrepend.Never,
        null => Bool(e, "add_prefix_space", fallback: true) ? MetaspacePrepend.Always : MetaspacePrepend.Never,
        var other => throw ctx.Error($"{key}.prepend_scheme", $"'{other}' is not one of first, always, never"),
    };

    private static SpecialTokenTemplate ReadPostProcessor(Context ctx, JsonElement? element, string key,
        Dictionary<string, int> vocab, List<AddedToken> added)
    {
        if (element is not { } p) return SpecialTokenTemplate.None;
        string? type = String(p, "type");
        switch (type)
        {
            case "ByteLevel": return SpecialTokenTemplate.None;
            case "TemplateProcessing":
            {
                var special = new Dictionary<string, int[]>(StringComparer.Ordinal);
                if (Property(p, "special_tokens") is { ValueKind: JsonValueKind.Object } st)
                    foreach (var entry in st.EnumerateObject())
                        special[entry.Name] = (Property(entry.Value, "ids") ?? throw ctx.Error($"{key}.special_tokens.{entry.Name}.ids", "is missing"))
                            .EnumerateArray().Select(x => x.GetInt32()).ToArray();
                var prefix = new List<int>();
                var suffix = new List<int>();
                bool seenSequence = false;
                int i = 0;
                foreach (var item in (Property(p, "single") ?? throw ctx.Error($"{key}.single", "is missing")).EnumerateArray())
                {
                    if (Property(item, "Sequence") is not null) seenSequence = true;
                    else if (Property(item, "SpecialToken") is { } tok)
                    {
                        string name = String(tok, "id") ?? throw ctx.Error($"{key}.single[{i}].SpecialToken.id", "is missing");
                        if (!special.TryGetValue(name, out var ids)) throw ctx.Error($"{key}.single[{i}]", $"refers to '{name}', which is not in {key}.special_tokens");
                        (seenSequence ? suffix : prefix).AddRange(ids);
                    }
                    else throw ctx.Error($"{key}.single[{i}]", "is neither a Sequence nor a SpecialToken");
                    i++;
                }
                return new SpecialTokenTemplate(prefix, suffix);
            }
            case "BertProcessing" or "RobertaProcessing":
            {
                int Id(string name)
                {
                    var pair = Property(p, name) ?? throw ctx.Error($"{key}.{name}", "is missing");
                    return pair[1].GetInt32();
                }
                return new SpecialTokenTemplate([Id("cls")], [Id("sep")]);
            }
            case "Sequence":
            {
                var result = SpecialTokenTemplate.None;
                int i = 0;
                foreach (var s in (Property(p, "processors") ?? throw ctx.Error($"{key}.processors", "is missing")).EnumerateArray())
                    result = result.Then(ReadPostProcessor(ctx, s, $"{key}.processors[{i++}]", vocab, added));
                return result;
            }
            default: throw ctx.Unsupported(key, type, "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence");
        }
    }

    private static TokenDecoder? ReadDecoder(Context ctx, JsonElement? element, string key)
    {
        if (element is not { } d) return null;
        string? type = String(d, "type");
        switch (type)
        {
            case "ByteLevel": return new ByteLevelDecoder();
            case "Metaspace": return new MetaspaceDecoder(ReadReplacement(ctx, d, key), ReadPrepend(ctx, d, key) != MetaspacePrepend.Never);
            case "Replace":
                var (literal, regex) = ReadPattern(ctx, d, key);
                return new ReplaceDecoder(literal, regex, String(d, "content") ?? throw ctx.Error($"{key}.content", "is missing"));
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip":
                string content = String(d, "content") ?? throw ctx.Error($"{key}.content", "is missing");
                if (content.Length != 1) throw ctx.Error($"{key}.content", "must be one character");
                return new StripDecoder(content[0], Property(d, "start")?.GetInt32() ?? 0, Property(d, "stop")?.GetInt32() ?? 0);
            case "Sequence":
                var steps = new List<TokenDecoder>();
                int i = 0;
                foreach (var s in (Property(d, "decoders") ?? throw ctx.Error($"{key}.decoders", "is missing")).EnumerateArray())
                    if (ReadDecoder(ctx, s, $"{key}.decoders[{i++}]") is { } step) steps.Add(step);
                return new SequenceDecoder(steps);
            default: throw ctx.Unsupported(key, type, "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence");
        }
    }
}
