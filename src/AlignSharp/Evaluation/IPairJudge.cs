using AlignSharp.Data;

namespace AlignSharp.Evaluation;

/// <summary>A judge's decision between two completions of one prompt.</summary>
public enum PairVerdict
{
    /// <summary>The first completion is better.</summary>
    First,
    /// <summary>The second completion is better.</summary>
    Second,
    /// <summary>Neither is better.</summary>
    Tie,
    /// <summary>The judge gave no usable answer (e.g. an endpoint reply that names neither).</summary>
    Invalid,
}

/// <summary>Decides which of two completions of a prompt is better: a programmatic scorer, a chat model, a person.</summary>
public interface IPairJudge
{
    /// <summary>Judges <paramref name="first"/> against <paramref name="second"/> as continuations of <paramref name="prompt"/>.</summary>
    Task<PairVerdict> JudgeAsync(string prompt, string first, string second, CancellationToken cancellationToken = default);
}

/// <summary>A judge that compares ground-truth rewards; rewards within <paramref name="tolerance"/> are a tie.</summary>
public sealed class RewardJudge(IRewardFunction reward, double tolerance = 1e-9) : IPairJudge
{
    /// <inheritdoc />
    public Task<PairVerdict> JudgeAsync(string prompt, string first, string second, CancellationToken cancellationToken = default)
    {
        double d = reward.Score(prompt, first) - reward.Score(prompt, second);
        return Task.FromResult(Math.Abs(d) <= tolerance ? PairVerdict.Tie : d > 0 ? PairVerdict.First : PairVerdict.Second);
    }
}
