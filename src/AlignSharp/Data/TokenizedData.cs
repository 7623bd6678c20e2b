using AlignSharp.Data.Caching;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Sources;
using AlignSharp.Data.Validation;
using AlignSharp.Tokenization;

namespace AlignSharp.Data;

/// <summary>Preference pairs ready for batching, with the report of everything not used and whether they came from the cache.</summary>
public sealed record TokenizedData(IReadOnlyList<string> Files, DataFormat Format, IReadOnlyList<TokenizedPair> Pairs, DataReport Report, bool FromCache)
{
    /// <summary>
    /// Loads, validates and tokenizes paired preference data (<see cref="PreferenceDataLoader"/> then
    /// <see cref="PairTokenizer"/>), through the on-disk cache when <paramref name="cacheDirectory"/> is given: a second
    /// load with the same files, tokenizer and settings reads the cached ids instead. Unpaired (KTO) data is not paired
    /// data: load it with <see cref="PreferenceDataLoader"/>.
    /// </summary>
    public static TokenizedData Load(string spec, ITokenizer tokenizer, TokenizationOptions tokenization, DataOptions? data = null,
        string? cacheDirectory = null, string? tokenizerIdentity = null)
    {
        data ??= new DataOptions();
        string? key = null;
        TokenizedDataCache? cache = null;
        if (cacheDirectory is not null)
        {
            cache = new TokenizedDataCache(cacheDirectory);
            key = TokenizedDataCache.Key(DataFiles.Resolve(spec), tokenizerIdentity ?? TokenizerFingerprint.Of(tokenizer), data, tokenization);
            if (cache.TryLoad(key) is { } hit) return hit;
        }
        var loaded = PreferenceDataLoader.Load(spec, data);
        if (loaded.Format == DataFormat.Unpaired)
            throw new DataException(SourceLocation.WholeFile(spec), "unpaired (prompt/completion/label) data has no pairs; it is for KTO-style objectives");
        var pairs = new PairTokenizer(tokenizer, tokenization).TokenizeAll(loaded.Pairs, loaded.Report, data.OnBadRecord);
        if (pairs.Count == 0) throw new DataException(SourceLocation.WholeFile(spec), $"no pair fits max_length {tokenization.MaxLength}");
        var result = new TokenizedData(loaded.Files, loaded.Format, pairs, loaded.Report, FromCache: false);
        if (cache is not null) cache.Save(key!, result);
        return result;
    }
}
