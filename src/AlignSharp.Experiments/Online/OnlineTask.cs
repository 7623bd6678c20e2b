using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Tasks;

namespace AlignSharp.Online;

/// <summary>
/// A task of the loop: prompts, a corpus for the base model, and the ground-truth reward or verifier.
/// </summary>
public sealed class OnlineTaskSource(OnlineTask task, ArithmeticRewardKind verifier = ArithmeticRewardKind.Final)
{
    /// <summary>The task.</summary>
    public OnlineTask Task => task;

    /// <summary><paramref name="count"/> prompts drawn with <paramref name="seed"/>.</summary>
    public IReadOnlyList<string> Prompts(int count, int seed) => task == OnlineTask.Review
        ? ReviewGenerator.Default.Prompts(count, seed)
        : ArithmeticGenerator.Default.Prompts(count, seed);

    /// <summary>Texts (prompt + completion) a base model learns the task's language from.</summary>
    public IReadOnlyList<string> Corpus(int count, int seed) => task == OnlineTask.Review
        ? ReviewGenerator.Default.Corpus(count, seed)
        : ArithmeticGenerator.Default.Corpus(count, seed);

    /// <summary>The ground-truth reward (review) or verifier (arithmetic).</summary>
    public IRewardFunction Reward => task == OnlineTask.Review ? ReviewReward.Default : new ArithmeticChecker(verifier);

    /// <summary>What a judge is asked.</summary>
    public string Criterion => task == OnlineTask.Review
        ? "Which review is more positive, well formed and free of repetition?"
        : "Which solution computes each step and the final answer correctly?";
}
