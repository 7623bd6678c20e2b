namespace AlignSharp.Tokenization;

/// <summary>Helpers over any <see cref="ITokenizer"/>.</summary>
public static class TokenizerExtensions
{
    /// <summary>
    /// Encodes <paramref name="text"/> with the tokenizer's special tokens, but never twice: Hugging Face's
    /// post-processor (and <see cref="ITokenizer.Encode"/>) prepends BOS even when the text already starts with a
    /// literal BOS such as <c>"&lt;s&gt;[INST] ..."</c>, giving two. Here a template prefix the plain encoding
    /// already starts with, or a template suffix it already ends with, is not added again.
    /// </summary>
    /// <remarks>
    /// The rule: <c>plain = Encode(text, false)</c>, <c>full = Encode(text, true)</c> = prefix + plain + suffix;
    /// the result is plain, with prefix in front unless plain starts with it, and suffix behind unless plain ends with it.
    /// Use this wherever prompts are built for training or generation (chat templates usually write BOS themselves).
    /// </remarks>
    public static IReadOnlyList<int> AddSpecialTokensOnce(this ITokenizer tokenizer, string text)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var plain = tokenizer.Encode(text, addSpecialTokens: false);
        var full = tokenizer.Encode(text, addSpecialTokens: true);
        int prefixLength = FindInner(full, plain);
        if (prefixLength < 0) return full; // the post-processor rewrote the text's ids; leave it alone
        var prefix = full.Take(prefixLength).ToArray();
        var suffix = full.Skip(prefixLength + plain.Count).ToArray();
        var result = new List<int>(full.Count);
        if (!StartsWith(plain, prefix)) result.AddRange(prefix);
        result.AddRange(plain);
        if (!EndsWith(plain, suffix)) result.AddRange(suffix);
        return result;
    }

    /// <summary>Offset at which <paramref name="inner"/> occurs in <paramref name="outer"/> (first match), or -1.</summary>
    private static int FindInner(IReadOnlyList<int> outer, IReadOnlyList<int> inner)
    {
        for (int start = 0; start + inner.Count <= outer.Count; start++)
        {
            bool match = true;
            for (int i = 0; i < inner.Count && match; i++) match = outer[start + i] == inner[i];
            if (match) return start;
        }
        return -1;
    }

    private static bool StartsWith(IReadOnlyList<int> ids, int[] prefix) =>
        prefix.Length > 0 && ids.Count >= prefix.Length && prefix.Select((id, i) => ids[i] == id).All(x => x);

    private static bool EndsWith(IReadOnlyList<int> ids, int[] suffix) =>
        suffix.Length > 0 && ids.Count >= suffix.Length && suffix.Select((id, i) => ids[ids.Count - suffix.Length + i] == id).All(x => x);
}
