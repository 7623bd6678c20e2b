namespace AlignSharp.Evaluation;

/// <summary>One request to a judge: its raw reply (null when none came) and what went wrong, if anything.</summary>
/// <param name="Reply">The judge's text, verbatim.</param>
/// <param name="Error">Null for a usable reply; else "malformed reply", "HTTP 500: ...", "no reply within ...".</param>
public sealed record JudgeAttempt(string? Reply, string? Error);

/// <summary>A judge's verdict on one ordering with every attempt it took to get it.</summary>
public sealed record JudgeCall(PairVerdict Verdict, IReadOnlyList<JudgeAttempt> Attempts);

/// <summary>
/// A judge that also reports its raw replies and failed attempts (e.g. <see cref="ChatEndpointJudge"/>).
/// </summary>
public interface IReportingPairJudge : IPairJudge
{
    /// <summary>Judges <paramref name="first"/> against <paramref name="second"/> and returns every attempt.</summary>
    Task<JudgeCall> AskAsync(string prompt, string first, string second, CancellationToken cancellationToken = default);
}

/// <summary>
/// A comparison of completions a and b asked in both orders, (a, b) then (b, a), so a judge that favours one
/// position cancels out: a wins only when it wins as A and as B. <see cref="WinProbability"/> is the mean of the two
/// scores of a (win 1, tie 0.5, loss 0). When either order gives no usable verdict the comparison is
/// <see cref="PairVerdict.Invalid"/> with <see cref="WinProbability"/> NaN: it is reported, never guessed.
/// </summary>
/// <param name="Verdict">First: a is better; Second: b is better; Tie (also when the orders disagree); Invalid.</param>
/// <param name="WinProbability">Estimated P(a beats b) in {0, 0.25, 0.5, 0.75, 1}, or NaN when invalid.</param>
/// <param name="Forward">The call with a shown as "A".</param>
/// <param name="Backward">The call with b shown as "A".</param>
public sealed record PairComparison(PairVerdict Verdict, double WinProbability, JudgeCall Forward, JudgeCall Backward)
{
    /// <summary>True when both orders gave a verdict.</summary>
    public bool IsValid => Verdict != PairVerdict.Invalid;

    /// <summary>
    /// Every raw reply in order (forward attempts, then backward), "(none)" where the request failed.
    /// </summary>
    public IReadOnlyList<string> RawReplies =>
        [.. Forward.Attempts.Concat(Backward.Attempts).Select(a => a.Reply ?? $"(none: {a.Error})")];

    /// <summary>
    /// Asks <paramref name="judge"/> about (a, b) and then (b, a) and combines the two verdicts; when the first order
    /// fails, the second is not asked.
    /// </summary>
    public static async Task<PairComparison> CompareAsync(IPairJudge judge, string prompt, string a, string b,
        CancellationToken cancellationToken = default)
    {
        var forward = await Ask(judge, prompt, a, b, cancellationToken).ConfigureAwait(false);
        if (forward.Verdict == PairVerdict.Invalid) // no need to pay for the second order: the comparison is lost
            return new PairComparison(PairVerdict.Invalid, double.NaN, forward, new JudgeCall(PairVerdict.Invalid, []));
        var backward = await Ask(judge, prompt, b, a, cancellationToken).ConfigureAwait(false);
        return Combine(forward, backward);
    }

    /// <summary>Combines a forward call (a shown first) and a backward call (b shown first).</summary>
    public static PairComparison Combine(JudgeCall forward, JudgeCall backward)
    {
        if (forward.Verdict == PairVerdict.Invalid || backward.Verdict == PairVerdict.Invalid)
            return new PairComparison(PairVerdict.Invalid, double.NaN, forward, backward);
        double p = (ScoreOfShownFirst(forward.Verdict) + 1 - ScoreOfShownFirst(backward.Verdict)) / 2;
        var verdict = p > 0.5 ? PairVerdict.First : p < 0.5 ? PairVerdict.Second : PairVerdict.Tie;
        return new PairComparison(verdict, p, forward, backward);
    }

    private static double ScoreOfShownFirst(PairVerdict v) => v switch
    {
        PairVerdict.First => 1,
        PairVerdict.Second => 0,
        _ => 0.5,
    };

    private static async Task<JudgeCall> Ask(IPairJudge judge, string prompt, string first, string second,
        CancellationToken cancellationToken)
    {
        if (judge is IReportingPairJudge reporting)
            return await reporting.AskAsync(prompt, first, second, cancellationToken).ConfigureAwait(false);
        var verdict = await judge.JudgeAsync(prompt, first, second, cancellationToken).ConfigureAwait(false);
        return new JudgeCall(verdict, [new JudgeAttempt(verdict.ToString(),
            verdict == PairVerdict.Invalid ? "no verdict" : null)]);
    }
}
