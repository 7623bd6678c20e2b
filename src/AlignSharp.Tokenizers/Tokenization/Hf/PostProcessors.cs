namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// The single-sequence part of a <c>tokenizer.json</c> post-processor, reduced to what it adds:
/// fixed ids before and after the encoded text (TemplateProcessing, Bert/Roberta processing; ByteLevel adds none).
/// </summary>
internal sealed record SpecialTokenTemplate(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static readonly SpecialTokenTemplate None = new([], []);

    public IReadOnlyList<int> Apply(List<int> ids)
    {
        if (Prefix.Count == 0 && Suffix.Count == 0) return ids;
        var result = new List<int>(Prefix.Count + ids.Count + Suffix.Count);
        result.AddRange(Prefix);
        result.AddRange(ids);
        result.AddRange(Suffix);
        return result;
    }

    /// <summary>Composes two processors applied in order (Hugging Face <c>Sequence</c>).</summary>
    public SpecialTokenTemplate Then(SpecialTokenTemplate next) => new([.. next.Prefix, .. Prefix], [.. Suffix, .. next.Suffix]);
}
