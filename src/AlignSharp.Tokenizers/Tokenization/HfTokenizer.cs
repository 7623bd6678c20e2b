using System.Text.Json;
using AlignSharp.Tokenization.Hf;

namespace AlignSharp.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> (BPE model: byte-level as in GPT-2, Pythia, Qwen2, Llama 3, SmolLM, or
/// SentencePiece-style with byte fallback as in Mistral and Llama 2) reproducing <c>tokenizers</c>' ids and decodings.
/// </summary>
/// <remarks>
/// Encoding follows Hugging Face's order: added tokens written literally are matched first (leftmost-longest; those
/// with <c>normalized: false</c> on the raw text, the others on the normalised text), every other piece is
/// normalised, pre-tokenised and BPE-encoded on its own. <c>Encode(text, addSpecialTokens: true)</c> applies the
/// <c>tokenizer.json</c> post-processor exactly like Hugging Face, so a text that already starts with the BOS
/// token gets a second one; use <see cref="TokenizerExtensions.AddSpecialTokensOnce"/> to avoid that.
/// <c>tokenizer_config.json</c> flags such as <c>add_bos_token</c> are not applied (the post-processor decides).
/// </remarks>
public sealed class HfTokenizer : ITokenizer
{
    private readonly BpeModel _model;
    private readonly Dictionary<string, int> _vocab;
    private readonly string?[] _idToToken;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly AddedTokenSplitter _rawAdded;
    private readonly AddedTokenSplitter _normalizedAdded;
    private readonly TextNormalizer? _normalizer;
    private readonly PreTokenizerStep? _preTokenizer;
    private readonly SpecialTokenTemplate _template;
    private readonly TokenDecoder? _decoder;

    private HfTokenizer(TokenizerPipeline p, SpecialTokenIds specials)
    {
        _model = p.Model;
        _vocab = p.Vocab;
        _normalizer = p.Normalizer;
        _preTokenizer = p.PreTokenizer;
        _template = p.Template;
        _decoder = p.Decoder;
        _addedById = new Dictionary<int, AddedToken>();
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in p.AddedTokens)
        {
            _addedById[t.Id] = t;
            _addedByContent[t.Content] = t.Id;
        }
        _rawAdded = new AddedTokenSplitter(p.AddedTokens.Where(t => !t.Normalized));
        _normalizedAdded = new AddedTokenSplitter(p.AddedTokens.Where(t => t.Normalized));
        int size = Math.Max(p.Vocab.Count == 0 ? 0 : p.Vocab.Values.Max() + 1, p.AddedTokens.Count == 0 ? 0 : p.AddedTokens.Max(t => t.Id) + 1);
        _idToToken = new string?[size];
        foreach (var (token, id) in p.Vocab) _idToToken[id] = token;
        foreach (var t in p.AddedTokens) _idToToken[t.Id] = t.Content;
        BosId = specials.Bos;
        EosId = specials.Eos;
        PadId = specials.Pad;
    }

    /// <summary>Loads <c>tokenizer.json</c> (and <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c> when present) from a model folder.</summary>
    /// <exception cref="TokenizerException">The folder has no <c>tokenizer.json</c>, or a file is malformed or unsupported.</exception>
    public static HfTokenizer FromFolder(string directory)
    {
        string json = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(json))
            throw new TokenizerException($"{json}: file not found" +
                (File.Exists(Path.Combine(directory, "tokenizer.model")) ? " (the folder has a SentencePiece tokenizer.model: load it with AutoTokenizer.FromFolder)" : ""));
        string config = Path.Combine(directory, "tokenizer_config.json");
        string map = Path.Combine(directory, "special_tokens_map.json");
        return FromFile(json, File.Exists(config) ? config : null, File.Exists(map) ? map : null);
    }

    /// <summary>Loads a <c>tokenizer.json</c>; the optional configs name the BOS/EOS/PAD tokens.</summary>
    /// <exception cref="TokenizerException">A file is missing, malformed or uses an unsupported component.</exception>
    public static HfTokenizer FromFile(string tokenizerJson, string? tokenizerConfigJson = null, string? specialTokensMapJson = null)
    {
        var pipeline = TokenizerJsonReader.Read(tokenizerJson);
        var specials = SpecialTokenIds.Resolve(pipeline, tokenizerConfigJson, specialTokensMapJson);
        return new HfTokenizer(pipeline, specials);
    }

    /// <inheritdoc/>
    public int VocabSize => _idToToken.Length;

    /// <inheritdoc/>
    public int? BosId { get; }

    /// <inheritdoc/>
    public int? EosId { get; }

    /// <inheritdoc/>
    public int? PadId { get; }

    /// <summary>The vocabulary string of an id (added token content or model token), or null for an unused id.</summary>
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>The id of a token string (added tokens first, then the model vocabulary), or null.</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int added) ? added : _vocab.TryGetValue(token, out int id) ? id : null;

    /// <summary>Whether <paramref name="id"/> is an added token marked special (dropped by <c>Decode(skipSpecialTokens: true)</c>).</summary>
    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out var t) && t.Special;

    /// <inheritdoc/>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var pieces = new List<Piece>();
        foreach (var raw in _rawAdded.Split(text))
        {
            if (raw.Token is not null)
            {
                ids.Add(raw.Token.Id);
                continue;
            }
            string normalized = _normalizer?.Normalize(raw.Text) ?? raw.Text;
            foreach (var seg in _normalizedAdded.Split(normalized))
            {
                if (seg.Token is not null)
                {
                    ids.Add(seg.Token.Id);
                    continue;
                }
                var piece = new Piece(seg.Text, raw.Start == 0 && seg.Start == 0);
                if (_preTokenizer is null)
                {
                    _model.EncodeWord(piece.Text, ids);
                    continue;
                }
                pieces.Clear();
                _preTokenizer.Split(piece, pieces);
                foreach (var p in pieces) _model.EncodeWord(p.Text, ids);
            }
        }
        return addSpecialTokens ? _template.Apply(ids) : ids;
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecialTokens && added.Special)) tokens.Add(added.Content);
                continue;
            }
            tokens.Add(IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is not in the vocabulary (size {VocabSize})"));
        }
        if (_decoder is null) return string.Join(' ', tokens);
        return string.Concat(_decoder.Decode(tokens));
    }

    /// <summary>BOS/EOS/PAD ids from the configs, else from the post-processor and common token names.</summary>
    private sealed record SpecialTokenIds(int? Bos, int? Eos, int? Pad)
    {
        private static readonly string[] BosNames = ["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>"];
        private static readonly string[] EosNames = ["</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>"];
        private static readonly string[] PadNames = ["<pad>", "[PAD]", "<|padding|>", "<|pad|>"];

        public static SpecialTokenIds Resolve(TokenizerPipeline p, string? configPath, string? mapPath)
        {
            var config = ReadSpecialTokenNames(configPath);
            var map = ReadSpecialTokenNames(mapPath);
            int? Lookup(string name, string file, string key)
            {
                foreach (var t in p.AddedTokens)
                    if (t.Content == name) return t.Id;
                if (p.Vocab.TryGetValue(name, out int id)) return id;
                throw new TokenizerException($"{file}: {key} '{name}' is neither an added token nor in the vocabulary of the tokenizer.json");
            }
            int? FromFiles(string key)
            {
                if (configPath is not null && config.TryGetValue(key, out var c)) return c is null ? null : Lookup(c, configPath, key);
                if (mapPath is not null && map.TryGetValue(key, out var m)) return m is null ? null : Lookup(m, mapPath, key);
                return Missing;
            }
            int? ByName(string[] names) =>
                names.Select(n => p.AddedTokens.FirstOrDefault(t => t.Content == n)?.Id).FirstOrDefault(id => id is not null);

            int? bos = FromFiles("bos_token");
            if (bos == Missing) bos = p.Template.Prefix.Count > 0 ? p.Template.Prefix[0] : ByName(BosNames);
            int? eos = FromFiles("eos_token");
            if (eos == Missing) eos = p.Template.Suffix.Count > 0 ? p.Template.Suffix[^1] : ByName(EosNames);
            // GPT-2 style vocabularies use one token for both ends.
            if (bos is null && eos is not null && p.AddedTokens.Count(t => t.Special) == 1) bos = eos;
            int? pad = FromFiles("pad_token");
            if (pad == Missing) pad = ByName(PadNames);
            return new SpecialTokenIds(bos, eos, pad);
        }

        /// <summary>Marks "key absent from both files" (a key present with null means "no such token").</summary>
        private const int Missing = int.MinValue;

        /// <summary>Reads <c>bos_token</c>/<c>eos_token</c>/<c>pad_token</c>; values may be strings, <c>{"content": ...}</c> objects or null.</summary>
        private static Dictionary<string, string?> ReadSpecialTokenNames(string? path)
        {
            var result = new Dictionary<string, string?>();
            if (path is null) return result;
            if (!File.Exists(path)) throw new TokenizerException($"{path}: file not found");
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new TokenizerException($"{path}: expected a JSON object at the top level");
                foreach (var key in new[] { "bos_token", "eos_token", "pad_token" })
                {
                    if (!doc.RootElement.TryGetProperty(key, out var v)) continue;
                    result[key] = v.ValueKind switch
                    {
                        JsonValueKind.Null => null,
                        JsonValueKind.String => v.GetString(),
                        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
                        _ => throw new TokenizerException($"{path}: {key} must be a string, an object with a string 'content', or null"),
                    };
                }
            }
            catch (JsonException e)
            {
                throw new TokenizerException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
            }
            return result;
        }
    }
}
