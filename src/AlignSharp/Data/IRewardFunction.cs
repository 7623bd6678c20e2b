namespace AlignSharp.Data;

/// <summary>A programmatic ground-truth reward of a completion given its prompt (higher is better).</summary>
public interface IRewardFunction
{
    /// <summary>The reward of <paramref name="completion"/> as a continuation of <paramref name="prompt"/>.</summary>
    double Score(string prompt, string completion);
}
