using AlignSharp.Evaluation;
using AlignSharp.Tasks;

namespace AlignSharp.Experiments;

/// <summary>
/// What the checker says about a model's solutions of held-out problems, each a mean over problems with its standard
/// error: the share with the right final answer; per-step accuracy, the mean over problems of the share of their
/// steps that are right (<see cref="ArithmeticGrade.StepAccuracy"/>: every expected equation, graded wrong when
/// missing, plus any extra equation, graded wrong); and the share that are fully correct.
/// </summary>
public sealed record ReasoningScore(Estimate Final, Estimate Steps, Estimate Full)
{
    /// <summary>Grades <paramref name="completions"/>[i] as a solution of <paramref name="problems"/>[i].</summary>
    public static ReasoningScore Of(IReadOnlyList<ArithmeticProblem> problems, IReadOnlyList<string> completions)
    {
        if (problems.Count != completions.Count)
            throw new ExperimentException($"{problems.Count} problems but {completions.Count} solutions");
        var grades = problems.Select((p, i) => ArithmeticChecker.Check(p, completions[i])).ToList();
        return new ReasoningScore(
            Estimate.Of([.. grades.Select(g => g.FinalCorrect ? 1.0 : 0.0)]),
            Estimate.Of([.. grades.Select(g => g.StepAccuracy)]),
            Estimate.Of([.. grades.Select(g => g.FullyCorrect ? 1.0 : 0.0)]));
    }
}
