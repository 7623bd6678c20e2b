using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace AlignSharp.Tokenization;

/// <summary>
/// A SentencePiece BPE <c>tokenizer.model</c> (Llama 2 and its relatives) behind <see cref="ITokenizer"/>, run by
/// Microsoft.ML.Tokenizers' <see cref="LlamaTokenizer"/>. <c>Encode(text, addSpecialTokens: true)</c> prepends BOS
/// (Llama's default); <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c> and <c>&lt;unk&gt;</c> written in the text are matched as
/// tokens, as Hugging Face's Llama tokenizers do.
/// </summary>
public sealed class SentencePieceModelTokenizer : ITokenizer
{
    private readonly SentencePieceTokenizer _inner;

    private SentencePieceModelTokenizer(SentencePieceTokenizer inner, int? padId)
    {
        _inner = inner;
        PadId = padId;
    }

    /// <summary>Loads a SentencePiece BPE model; the optional <c>tokenizer_config.json</c> names the pad token.</summary>
    /// <exception cref="TokenizerException">The file is missing, not a SentencePiece BPE model, or the config is malformed.</exception>
    public static SentencePieceModelTokenizer FromFile(string modelPath, string? tokenizerConfigJson = null)
    {
        if (!File.Exists(modelPath)) throw new TokenizerException($"{modelPath}: file not found (expected a SentencePiece tokenizer.model)");
        SentencePieceTokenizer inner;
        try
        {
            // First pass without special tokens to learn their ids, second pass so they are matched in text.
            using (var probe = File.OpenRead(modelPath))
                inner = LlamaTokenizer.Create(probe, addBeginOfSentence: true, addEndOfSentence: false);
            var specials = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                [inner.BeginningOfSentenceToken] = inner.BeginningOfSentenceId,
                [inner.EndOfSentenceToken] = inner.EndOfSentenceId,
                [inner.UnknownToken] = inner.UnknownId,
            };
            using var stream = File.OpenRead(modelPath);
            inner = LlamaTokenizer.Create(stream, addBeginOfSentence: true, addEndOfSentence: false, specials);
        }
        catch (Exception e) when (e is not TokenizerException)
        {
            throw new TokenizerException($"{modelPath}: not a SentencePiece BPE model Microsoft.ML.Tokenizers can load: {e.Message}", e);
        }
        return new SentencePieceModelTokenizer(inner, ReadPadId(inner, tokenizerConfigJson));
    }

    /// <inheritdoc/>
    public int VocabSize => _inner.Vocabulary.Count;

    /// <inheritdoc/>
    public int? BosId => _inner.BeginningOfSentenceId;

    /// <inheritdoc/>
    public int? EosId => _inner.EndOfSentenceId;

    /// <inheritdoc/>
    public int? PadId { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _inner.EncodeToIds(text, addBeginningOfSentence: addSpecialTokens, addEndOfSentence: false);
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _inner.Decode(ids, considerSpecialTokens: !skipSpecialTokens);
    }

    private static int? ReadPadId(SentencePieceTokenizer inner, string? configPath)
    {
        if (configPath is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (!doc.RootElement.TryGetProperty("pad_token", out var pad)) return null;
            string? name = pad.ValueKind switch
            {
                JsonValueKind.String => pad.GetString(),
                JsonValueKind.Object when pad.TryGetProperty("content", out var c) => c.GetString(),
                _ => null,
            };
            if (name is null) return null;
            return inner.Vocabulary.TryGetValue(name, out int id) ? id
                : throw new TokenizerException($"{configPath}: pad_token '{name}' is not in the SentencePiece vocabulary");
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{configPath}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }
}
