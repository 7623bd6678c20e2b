using AlignSharp.Tokenization;

namespace AlignSharp.Data;

/// <summary>The one pad-id rule: padded positions are masked out everywhere, so any id works; this picks it once.</summary>
public static class PadRule
{
    /// <summary>The tokenizer's pad id, else its EOS id (as TRL and most HF models do), else 0.</summary>
    public static int IdFor(ITokenizer tokenizer) => tokenizer.PadId ?? tokenizer.EosId ?? 0;
}
