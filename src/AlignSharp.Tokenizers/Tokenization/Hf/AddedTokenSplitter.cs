using System.Buffers;
using System.Globalization;
using System.Text;

namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// Finds added tokens written literally in text, leftmost-longest as Hugging Face's Aho-Corasick matcher does,
/// honouring <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c>. The text between matches is returned as
/// plain segments for normalisation and the model. As in Hugging Face, a match rejected by <c>single_word</c> is
/// skipped whole (the search resumes after it, no shorter token is tried there), and <c>lstrip</c> never reaches
/// into the previous match.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>A run of plain text (<see cref="Token"/> null, <see cref="Start"/> its offset) or one matched added token.</summary>
    public readonly record struct Segment(string Text, int Start, AddedToken? Token);

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        if (IsEmpty)
        {
            if (text.Length > 0) segments.Add(new Segment(text, 0, null));
            return segments;
        }
        int plainStart = 0;
        for (int i = 0; i < text.Length;)
        {
            var token = LongestAt(text, i);
            if (token is null)
            {
                i++;
                continue;
            }
            int start = i, end = i + token.Content.Length;
            if (token.SingleWord && !IsWordBoundary(text, start, end))
            {
                i = end;
                continue;
            }
            if (token.LStrip)
                while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip)
                while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) segments.Add(new Segment(text[plainStart..start], plainStart, null));
            segments.Add(new Segment(text[start..end], start, token));
            plainStart = i = end;
        }
        if (plainStart < text.Length) segments.Add(new Segment(plainStart == 0 ? text : text[plainStart..], plainStart, null));
        return segments;
    }

    private AddedToken? LongestAt(string text, int i)
    {
        if (!_byFirstChar.TryGetValue(text[i], out var candidates)) return null;
        foreach (var t in candidates)
            if (text.AsSpan(i).StartsWith(t.Content, StringComparison.Ordinal)) return t;
        return null;
    }

    private static bool IsWordBoundary(string text, int start, int end)
    {
        bool wordBefore = start > 0 && Rune.DecodeLastFromUtf16(text.AsSpan(0, start), out var before, out _) == OperationStatus.Done && IsWordChar(before);
        bool wordAfter = end < text.Length && Rune.DecodeFromUtf16(text.AsSpan(end), out var after, out _) == OperationStatus.Done && IsWordChar(after);
        return !wordBefore && !wordAfter;
    }

    /// <summary>Rust's Unicode <c>\w</c>: alphabetic, marks, decimal digits, connector punctuation, joiners (ZWNJ, ZWJ).</summary>
    private static bool IsWordChar(Rune r) => r.Value is 0x200C or 0x200D || Rune.GetUnicodeCategory(r) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
        _ => false,
    };
}
