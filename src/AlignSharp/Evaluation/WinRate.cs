namespace AlignSharp.Evaluation;

/// <summary>Win rate of policy completions over reference completions (a tie counts one half).</summary>
/// <param name="Rate">Mean score over valid verdicts (win 1, tie 0.5, loss 0), with its standard error.</param>
/// <param name="Wins">Policy completions judged better.</param>
/// <param name="Ties">Ties.</param>
/// <param name="Losses">Reference completions judged better.</param>
/// <param name="Invalid">Verdicts the judge could not give; left out of the rate.</param>
public sealed record WinRateResult(Estimate Rate, int Wins, int Ties, int Losses, int Invalid);

/// <summary>Computes win rates under any <see cref="IPairJudge"/>.</summary>
public static class WinRate
{
    /// <summary>
    /// Judges each policy completion against the reference completion of the same prompt. The order shown to the
    /// judge is drawn per item with <paramref name="seed"/>, so a judge's position bias cancels out on average.
    /// </summary>
    public static async Task<WinRateResult> ComputeAsync(IPairJudge judge, IReadOnlyList<string> prompts,
        IReadOnlyList<string> policyCompletions, IReadOnlyList<string> referenceCompletions, int seed, CancellationToken cancellationToken = default)
    {
        if (policyCompletions.Count != prompts.Count || referenceCompletions.Count != prompts.Count)
            throw new EvaluationException($"need one policy and one reference completion per prompt: {prompts.Count} prompts, {policyCompletions.Count} policy, {referenceCompletions.Count} reference completions");
        var rng = new Random(seed);
        var scores = new List<double>();
        int wins = 0, ties = 0, losses = 0, invalid = 0;
        for (int i = 0; i < prompts.Count; i++)
        {
            bool policyFirst = rng.Next(2) == 0;
            var verdict = policyFirst
                ? await judge.JudgeAsync(prompts[i], policyCompletions[i], referenceCompletions[i], cancellationToken).ConfigureAwait(false)
                : await judge.JudgeAsync(prompts[i], referenceCompletions[i], policyCompletions[i], cancellationToken).ConfigureAwait(false);
            switch (verdict)
            {
                case PairVerdict.Tie: ties++; scores.Add(0.5); break;
                case PairVerdict.Invalid: invalid++; break;
                default:
                    bool policyWins = (verdict == PairVerdict.First) == policyFirst;
                    if (policyWins) { wins++; scores.Add(1); } else { losses++; scores.Add(0); }
                    break;
            }
        }
        return new WinRateResult(Estimate.Of(scores), wins, ties, losses, invalid);
    }
}
