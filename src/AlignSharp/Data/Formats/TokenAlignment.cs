using AlignSharp.Tokenization;

namespace AlignSharp.Data.Formats;

/// <summary>
/// Which piece of a completion (<see cref="CompletionPart"/>) each of its tokens belongs to. The completion is
/// encoded whole (so its tokens are exactly those every other objective scores); token j belongs to the part in which
/// its text starts, found from the decoded length of the tokens before it (a binary search per part boundary, so a
/// completion of n tokens and P parts costs about P log n decodes). Tokens past the text (an appended EOS) belong
/// to the last part, as a turn's end-of-turn token belongs to that turn (spec objectives-tokenlevel.md, "dmpo").
/// </summary>
public static class TokenAlignment
{
    /// <summary>Part index of each token of <paramref name="ids"/> (the encoding of the parts' concatenation).</summary>
    public static int[] PartOfTokens(ITokenizer tokenizer, IReadOnlyList<int> ids, IReadOnlyList<CompletionPart> parts)
    {
        var result = new int[ids.Count];
        if (parts.Count <= 1 || ids.Count == 0) return result;
        string text = string.Concat(parts.Select(p => p.Text));
        int decodedLength = tokenizer.Decode(ids).Length;
        // A tokenizer that normalises text decodes to a different length: map boundaries proportionally.
        double scale = decodedLength >= text.Length || decodedLength == 0 ? 1.0 : (double)decodedLength / text.Length;
        int start = 0, boundary = 0;
        for (int p = 0; p < parts.Count - 1; p++)
        {
            boundary += parts[p].Text.Length;
            int end = TokensStartingBefore(tokenizer, ids, (int)Math.Round(boundary * scale), start);
            for (int j = start; j < end; j++) result[j] = p;
            start = end;
        }
        for (int j = start; j < ids.Count; j++) result[j] = parts.Count - 1;
        return result;
    }

    /// <summary>The number of tokens whose text starts before character <paramref name="offset"/> (at least lo).</summary>
    private static int TokensStartingBefore(ITokenizer tokenizer, IReadOnlyList<int> ids, int offset, int lo)
    {
        // Token j starts at Decode(ids[..j]).Length, which grows with j: find the first j whose start is >= offset.
        int hi = ids.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (tokenizer.Decode(ids.Take(mid)).Length < offset) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
