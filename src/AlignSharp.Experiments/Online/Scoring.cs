using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Models;
using AlignSharp.Tokenization;

namespace AlignSharp.Online;

/// <summary>
/// A scored group. <see cref="Scores"/> holds one finite score per candidate (higher is better); a group whose
/// judge gave no verdict on some comparison has a <see cref="Problem"/> and yields no pairs.
/// </summary>
/// <param name="Group">The prompt and its candidates.</param>
/// <param name="Scores">One score per candidate (empty when the group is invalid).</param>
/// <param name="Problem">Why the group could not be scored, or null.</param>
public sealed record ScoredGroup(SampleGroup Group, IReadOnlyList<double> Scores, string? Problem = null)
{
    /// <summary>Pairwise comparisons by (i, j), i &lt; j, when a judge scored the group.</summary>
    public IReadOnlyDictionary<(int, int), PairComparison> Comparisons { get; init; } =
        new Dictionary<(int, int), PairComparison>();

    /// <summary>True when the group may yield pairs.</summary>
    public bool IsValid => Problem is null;

    /// <summary>Raw judge replies of the comparison of candidates i and j (empty without a judge).</summary>
    public IReadOnlyList<string> RepliesFor(int i, int j) =>
        Comparisons.TryGetValue((Math.Min(i, j), Math.Max(i, j)), out var c) ? c.RawReplies : [];

    /// <summary>Estimated win probabilities against the group, when a judge scored it (SPPO's P(y > pi)).</summary>
    public bool HasWinProbabilities => Comparisons.Count > 0;
}

/// <summary>The models a score step may consult.</summary>
/// <param name="Policy">The current policy.</param>
/// <param name="Reference">The current reference.</param>
public sealed record ScoreContext(CausalLM Policy, CausalLM Reference);

/// <summary>The score step: turns sampled groups into scored groups.</summary>
public interface IScoreStep
{
    /// <summary>Short name for reports.</summary>
    string Name { get; }

    /// <summary>Scores every group (in order).</summary>
    Task<IReadOnlyList<ScoredGroup>> ScoreAsync(IReadOnlyList<SampleGroup> groups, ScoreContext context,
        CancellationToken cancellationToken = default);
}

/// <summary>Scores each candidate with a programmatic reward or verifier.</summary>
public sealed class RewardScore(IRewardFunction reward, string name) : IScoreStep
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public Task<IReadOnlyList<ScoredGroup>> ScoreAsync(IReadOnlyList<SampleGroup> groups, ScoreContext context,
        CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ScoredGroup>>(
            [.. groups.Select(g => new ScoredGroup(g, [.. g.Candidates.Select(c => reward.Score(g.Prompt, c.Text))]))]);
}

/// <summary>
/// Scores candidates with a pairwise judge: every pair is compared in both orders (<see cref="PairComparison"/>)
/// and a candidate's score is its mean win probability against the others (SPPO's estimate of P(y beats pi)).
/// When any comparison of a group gets no verdict, the group is reported with the judge's raw replies and yields
/// no pairs: a missing verdict is never guessed.
/// </summary>
public sealed class JudgeScore(IPairJudge judge, string name) : IScoreStep
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public async Task<IReadOnlyList<ScoredGroup>> ScoreAsync(IReadOnlyList<SampleGroup> groups, ScoreContext context,
        CancellationToken cancellationToken = default)
    {
        var scored = new List<ScoredGroup>(groups.Count);
        foreach (var g in groups)
        {
            int n = g.Candidates.Count;
            var comparisons = new Dictionary<(int, int), PairComparison>();
            var wins = new double[n];
            string? problem = null;
            for (int i = 0; i < n && problem is null; i++)
            {
                for (int j = i + 1; j < n; j++)
                {
                    var c = await PairComparison.CompareAsync(judge, g.Prompt, g.Candidates[i].Text,
                        g.Candidates[j].Text, cancellationToken).ConfigureAwait(false);
                    comparisons[(i, j)] = c;
                    if (!c.IsValid)
                    {
                        var last = c.Forward.Attempts.Concat(c.Backward.Attempts).LastOrDefault();
                        problem = $"no verdict on candidates {i} and {j} after " +
                            $"{c.Forward.Attempts.Count + c.Backward.Attempts.Count} attempt(s)" +
                            (last?.Error is { } e ? $" (last: {e})" : "");
                        break;
                    }
                    wins[i] += c.WinProbability;
                    wins[j] += 1 - c.WinProbability;
                }
            }
            scored.Add(problem is null
                ? new ScoredGroup(g, [.. wins.Select(w => w / (n - 1))]) { Comparisons = comparisons }
                : new ScoredGroup(g, [], problem) { Comparisons = comparisons });
        }
        return scored;
    }
}

/// <summary>
/// The policy's implicit reward <c>beta * (log pi(y|x) - log pi_ref(y|x)) - length_penalty * |y|</c> (DPO's reward;
/// with a length penalty, DICE's length-regularized reward, Chen et al. 2024, https://arxiv.org/abs/2406.09760).
/// </summary>
public sealed class ImplicitRewardScore(double beta, double lengthPenalty) : IScoreStep
{
    /// <inheritdoc />
    public string Name => lengthPenalty > 0 ? "implicit_length_penalized" : "implicit";

    /// <inheritdoc />
    public Task<IReadOnlyList<ScoredGroup>> ScoreAsync(IReadOnlyList<SampleGroup> groups, ScoreContext context,
        CancellationToken cancellationToken = default)
    {
        var prompts = groups.SelectMany(g => g.Candidates.Select(_ => g.PromptIds)).ToList();
        var completions = groups.SelectMany(g => g.Candidates.Select(c => c.Ids)).ToList();
        var policy = CompletionLogProbs.Compute(context.Policy, prompts, completions);
        var reference = CompletionLogProbs.Compute(context.Reference, prompts, completions);
        var result = new List<ScoredGroup>(groups.Count);
        int k = 0;
        foreach (var g in groups)
        {
            var scores = g.Candidates.Select(c =>
            {
                double s = beta * (policy[k] - reference[k]) - lengthPenalty * c.Ids.Length;
                k++;
                return s;
            }).ToList();
            result.Add(new ScoredGroup(g, scores));
        }
        return Task.FromResult<IReadOnlyList<ScoredGroup>>(result);
    }
}

/// <summary>
/// The policy as its own judge (self-rewarding, Yuan et al. 2024, https://arxiv.org/abs/2401.10020): it reads a short
/// judging prompt with both responses and its verdict is whichever of " A" and " B" it finds more likely as the
/// next text (constrained decoding, so a verdict is always well formed). Asked in both orders like any judge.
/// </summary>
public sealed class PolicyJudge(Func<CausalLM> policy, ITokenizer tokenizer) : IReportingPairJudge
{
    /// <summary>The judging prompt shown to the policy.</summary>
    public static string Render(string prompt, string first, string second) =>
        $"{prompt}\nA:{first}\nB:{second}\nbetter:";

    /// <inheritdoc />
    public async Task<PairVerdict> JudgeAsync(string prompt, string first, string second,
        CancellationToken cancellationToken = default) =>
        (await AskAsync(prompt, first, second, cancellationToken).ConfigureAwait(false)).Verdict;

    /// <inheritdoc />
    public Task<JudgeCall> AskAsync(string prompt, string first, string second,
        CancellationToken cancellationToken = default)
    {
        var model = policy();
        var ids = PolicySamples.EncodePrompt(tokenizer, Render(prompt, first, second));
        var a = tokenizer.Encode(" A").ToArray();
        var b = tokenizer.Encode(" B").ToArray();
        int room = model.Config.MaxPositions - Math.Max(a.Length, b.Length);
        if (ids.Length > room) ids = ids[^room..]; // keep the end: the responses and the question
        var lp = CompletionLogProbs.Compute(model, [ids, ids], [a, b]);
        var verdict = lp[0] > lp[1] ? PairVerdict.First : lp[0] < lp[1] ? PairVerdict.Second : PairVerdict.Tie;
        string letter = verdict == PairVerdict.First ? "A" : verdict == PairVerdict.Second ? "B" : "TIE";
        string reply = FormattableString.Invariant($"{letter} (log p A {lp[0]:0.###}, B {lp[1]:0.###})");
        return Task.FromResult(new JudgeCall(verdict, [new JudgeAttempt(reply, null)]));
    }
}
