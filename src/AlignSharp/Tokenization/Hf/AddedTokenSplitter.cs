namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// Finds added tokens written literally in text, leftmost-longest as Hugging Face's Aho-Corasick matcher does,
/// honouring <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c>. The text between matches is returned as
/// plain segments for normalisation and the model.
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
            var token = Match(text, i);
            if (token is null)
            {
                i++;
                continue;
            }
            int start = i, end = i + token.Content.Length;
            if (token.LStrip)
                while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip)
                while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) segments.Add(new Segment(text[plainStart..start], plainStart, null));
            segments.Add(new Segment(text[start..end], start, token));
            plainStart = i = end;
        }
        if (plainStart < text.Length) segments.Add(new Segment(text[plainStart..], plainStart, null));
        return segments;
    }

    private AddedToken? Match(string text, int i)
    {
        if (!_byFirstChar.TryGetValue(text[i], out var candidates)) return null;
        foreach (var t in candidates)
        {
            if (!text.AsSpan(i).StartsWith(t.Content, StringComparison.Ordinal)) continue;
            if (t.SingleWord && !IsWordBoundary(text, i, i + t.Content.Length)) continue;
            return t;
        }
        return null;
    }

    private static bool IsWordBoundary(string text, int start, int end) =>
        (start == 0 || !IsWordChar(text[start - 1])) && (end == text.Length || !IsWordChar(text[end]));

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
