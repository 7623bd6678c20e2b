using AlignSharp.Data.Chat;

namespace AlignSharp.Data.Formats;

/// <summary>
/// Recovers the implicit prompt of a pair given only as two full texts or conversations (TRL's extract_prompt).
/// </summary>
public static class PromptExtraction
{
    /// <summary>The turn marker of Anthropic HH dialogues; a prompt cut here ends with it.</summary>
    public const string AssistantTurn = "\n\nAssistant:";

    /// <summary>
    /// Index where the prompt ends in <paramref name="chosen"/> (and <paramref name="rejected"/>): just after the last
    /// <c>"\n\nAssistant:"</c> inside their longest common prefix when there is one (HH dialogues), else the longest
    /// common prefix, backed off before a trailing space (TRL keeps the space with the completion) and never inside a
    /// surrogate pair. 0 when the texts share nothing.
    /// </summary>
    public static int SharedPromptLength(string chosen, string rejected)
    {
        int lcp = 0, n = Math.Min(chosen.Length, rejected.Length);
        while (lcp < n && chosen[lcp] == rejected[lcp]) lcp++;
        if (lcp > 0 && char.IsHighSurrogate(chosen[lcp - 1]) && lcp < chosen.Length && char.IsLowSurrogate(chosen[lcp])) lcp--;
        int turn = chosen.AsSpan(0, lcp).LastIndexOf(AssistantTurn, StringComparison.Ordinal);
        if (turn >= 0) return turn + AssistantTurn.Length;
        if (lcp > 0 && lcp < n && chosen[lcp - 1] == ' ') lcp--;
        return lcp;
    }

    /// <summary>Number of opening turns two conversations share.</summary>
    public static int SharedTurns(IReadOnlyList<ChatMessage> a, IReadOnlyList<ChatMessage> b)
    {
        int k = 0;
        while (k < a.Count && k < b.Count && a[k] == b[k]) k++;
        return k;
    }
}
