using AlignSharp.Tokenization;

namespace AlignSharp.Data.Formats;

/// <summary>
/// BMC's diff masks (spec objectives-tokenlevel.md, "Data each objective needs", bmc): Python's
/// <c>difflib.SequenceMatcher(None, rejected_ids, chosen_ids, autojunk=False).get_opcodes()</c> on the completion
/// token ids only; tokens in replace/delete spans are 1 in the rejected mask, tokens in replace/insert spans 1 in the
/// chosen mask, except tokens that decode to an English stopword (NLTK's list and its capitalised forms, with or
/// without the tokenizer's leading-space marker).
/// </summary>
public static class EditDiff
{
    /// <summary>NLTK's English stopwords (179 words).</summary>
    private static readonly string[] NltkEnglish =
    [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "you're", "you've", "you'll", "you'd",
        "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "she's", "her", "hers",
        "herself", "it", "it's", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
        "who", "whom", "this", "that", "that'll", "these", "those", "am", "is", "are", "was", "were", "be", "been",
        "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if",
        "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about", "against", "between",
        "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out",
        "on", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
        "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not",
        "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "don", "don't",
        "should", "should've", "now", "d", "ll", "m", "o", "re", "ve", "y", "ain", "aren", "aren't", "couldn",
        "couldn't", "didn", "didn't", "doesn", "doesn't", "hadn", "hadn't", "hasn", "hasn't", "haven", "haven't",
        "isn", "isn't", "ma", "mightn", "mightn't", "mustn", "mustn't", "needn", "needn't", "shan", "shan't",
        "shouldn", "shouldn't", "wasn", "wasn't", "weren", "weren't", "won", "won't", "wouldn", "wouldn't",
    ];

    private static readonly HashSet<string> Stopwords =
        [.. NltkEnglish, .. NltkEnglish.Select(w => char.ToUpperInvariant(w[0]) + w[1..])];

    /// <summary>The stopword list's size (NLTK's English list).</summary>
    public static int StopwordCount => NltkEnglish.Length;

    /// <summary>Diff masks (1 = changed) of the chosen and rejected completion ids.</summary>
    public static (int[] Chosen, int[] Rejected) Masks(ITokenizer tokenizer, int[] chosen, int[] rejected)
    {
        var (dc, dr) = (new int[chosen.Length], new int[rejected.Length]);
        foreach (var (tag, i1, i2, j1, j2) in Opcodes(rejected, chosen))
        {
            if (tag is 'r' or 'd')
                for (int i = i1; i < i2; i++) dr[i] = IsStopword(tokenizer, rejected[i]) ? 0 : 1;
            if (tag is 'r' or 'i')
                for (int j = j1; j < j2; j++) dc[j] = IsStopword(tokenizer, chosen[j]) ? 0 : 1;
        }
        return (dc, dr);
    }

    /// <summary>True when <paramref name="id"/> decodes to a stopword, with or without a leading-space marker.</summary>
    public static bool IsStopword(ITokenizer tokenizer, int id)
    {
        string text = tokenizer.Decode([id]);
        return Stopwords.Contains(text) || Stopwords.Contains(text.TrimStart(' ', '\u2581', '\u0120'));
    }

    /// <summary>
    /// difflib's <c>get_opcodes()</c> (no junk, no autojunk): tags 'e'qual, 'r'eplace, 'd'elete, 'i'nsert with
    /// a[i1:i2] and b[j1:j2].
    /// </summary>
    public static List<(char Tag, int I1, int I2, int J1, int J2)> Opcodes(int[] a, int[] b)
    {
        var ops = new List<(char, int, int, int, int)>();
        int i = 0, j = 0;
        foreach (var (ai, bj, size) in MatchingBlocks(a, b))
        {
            char tag = i < ai && j < bj ? 'r' : i < ai ? 'd' : j < bj ? 'i' : '\0';
            if (tag != '\0') ops.Add((tag, i, ai, j, bj));
            (i, j) = (ai + size, bj + size);
            if (size > 0) ops.Add(('e', ai, i, bj, j));
        }
        return ops;
    }

    /// <summary>difflib's <c>get_matching_blocks()</c>: sorted, adjacent blocks merged, ending with (la, lb, 0).</summary>
    private static List<(int A, int B, int Size)> MatchingBlocks(int[] a, int[] b)
    {
        var b2j = new Dictionary<int, List<int>>();
        for (int j = 0; j < b.Length; j++)
        {
            if (!b2j.TryGetValue(b[j], out var list)) b2j[b[j]] = list = [];
            list.Add(j);
        }
        var queue = new Stack<(int Alo, int Ahi, int Blo, int Bhi)>();
        queue.Push((0, a.Length, 0, b.Length));
        var blocks = new List<(int A, int B, int Size)>();
        while (queue.Count > 0)
        {
            var (alo, ahi, blo, bhi) = queue.Pop();
            var (i, j, k) = LongestMatch(a, b2j, alo, ahi, blo, bhi);
            if (k == 0) continue;
            blocks.Add((i, j, k));
            if (alo < i && blo < j) queue.Push((alo, i, blo, j));
            if (i + k < ahi && j + k < bhi) queue.Push((i + k, ahi, j + k, bhi));
        }
        blocks.Sort();
        var merged = new List<(int A, int B, int Size)>();
        int i1 = 0, j1 = 0, k1 = 0;
        foreach (var (i2, j2, k2) in blocks)
        {
            if (i1 + k1 == i2 && j1 + k1 == j2) k1 += k2;
            else
            {
                if (k1 > 0) merged.Add((i1, j1, k1));
                (i1, j1, k1) = (i2, j2, k2);
            }
        }
        if (k1 > 0) merged.Add((i1, j1, k1));
        merged.Add((a.Length, b.Length, 0));
        return merged;
    }

    /// <summary>
    /// difflib's <c>find_longest_match</c> without junk: the longest a[i:i+k] == b[j:j+k] in the ranges, the earliest
    /// i among the longest, then the earliest j.
    /// </summary>
    private static (int I, int J, int K) LongestMatch(
        int[] a, Dictionary<int, List<int>> b2j, int alo, int ahi, int blo, int bhi)
    {
        int besti = alo, bestj = blo, bestsize = 0;
        var j2len = new Dictionary<int, int>();
        for (int i = alo; i < ahi; i++)
        {
            var next = new Dictionary<int, int>();
            if (b2j.TryGetValue(a[i], out var js))
                foreach (int j in js)
                {
                    if (j < blo) continue;
                    if (j >= bhi) break;
                    int k = next[j] = j2len.GetValueOrDefault(j - 1) + 1;
                    if (k > bestsize) (besti, bestj, bestsize) = (i - k + 1, j - k + 1, k);
                }
            j2len = next;
        }
        return (besti, bestj, bestsize);
    }
}
