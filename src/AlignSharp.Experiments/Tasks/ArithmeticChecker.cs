using System.Globalization;
using System.Text.RegularExpressions;
using AlignSharp.Data;
using AlignSharp.Evaluation;

namespace AlignSharp.Tasks;

/// <summary>The grade of one written step against the expected one.</summary>
/// <param name="Text">The step as written ("5 + 3 = 8"), or "" when the solution has fewer steps than expected.</param>
/// <param name="ArithmeticHolds">The written equation is true (5 + 3 = 8).</param>
/// <param name="Faithful">It computes what the problem asks at this point (the right operands and operator).</param>
public sealed record StepGrade(string Text, bool ArithmeticHolds, bool Faithful)
{
    /// <summary>True equation and the expected operation.</summary>
    public bool Correct => ArithmeticHolds && Faithful;
}

/// <summary>The grade of a solution.</summary>
/// <param name="WellFormed">The text is exactly " step , step , answer N ." (any number of steps).</param>
/// <param name="FinalAnswer">The number after "answer", or null when there is none.</param>
/// <param name="FinalCorrect">The final answer equals the problem's.</param>
/// <param name="Steps">One grade per expected step (missing steps graded wrong), then one per extra step
/// (wrong).</param>
public sealed record ArithmeticGrade(bool WellFormed, int? FinalAnswer, bool FinalCorrect,
    IReadOnlyList<StepGrade> Steps)
{
    /// <summary>Share of graded steps that are correct (0 when there are none).</summary>
    public double StepAccuracy => Steps.Count == 0 ? 0 : Steps.Count(s => s.Correct) / (double)Steps.Count;

    /// <summary>Every step correct, nothing extra, and the right final answer in a well-formed text.</summary>
    public bool FullyCorrect => WellFormed && FinalCorrect && Steps.All(s => s.Correct);
}

/// <summary>Which part of a solution <see cref="ArithmeticChecker"/> pays for.</summary>
public enum ArithmeticRewardKind
{
    /// <summary>1 for the right final answer, else 0 (the verifiable reward of self-training / RLVR).</summary>
    Final,
    /// <summary>Share of correct steps, for step-level objectives.</summary>
    Steps,
    /// <summary>1 only when every step and the final answer are right in a well-formed text.</summary>
    Strict,
}

/// <summary>
/// Checks a completion of an arithmetic prompt: reads the problem back from the prompt text, then grades each
/// written step (true equation, and the operation the problem asks for at that point) and the final answer. As an
/// <see cref="IRewardFunction"/> it pays per <see cref="Kind"/>; a prompt that is not an arithmetic problem is an
/// error (a wiring bug), a malformed completion simply scores low.
/// </summary>
public sealed partial class ArithmeticChecker(ArithmeticRewardKind kind = ArithmeticRewardKind.Final) : IRewardFunction
{
    /// <summary>What the reward pays for.</summary>
    public ArithmeticRewardKind Kind => kind;

    /// <summary>The checker paying for the final answer.</summary>
    public static ArithmeticChecker Default { get; } = new();

    /// <inheritdoc />
    public double Score(string prompt, string completion)
    {
        var grade = Check(prompt, completion);
        return kind switch
        {
            ArithmeticRewardKind.Final => grade.FinalCorrect ? 1 : 0,
            ArithmeticRewardKind.Steps => grade.StepAccuracy,
            _ => grade.FullyCorrect ? 1 : 0,
        };
    }

    /// <summary>
    /// Grades <paramref name="completion"/> as a solution of the problem in <paramref name="prompt"/>.
    /// </summary>
    public static ArithmeticGrade Check(string prompt, string completion) =>
        Check(ArithmeticProblem.Parse(prompt) ?? throw new TaskException($"not an arithmetic problem: '{prompt}'"),
            completion);

    /// <summary>Grades <paramref name="completion"/> as a solution of <paramref name="problem"/>.</summary>
    public static ArithmeticGrade Check(ArithmeticProblem problem, string completion)
    {
        var expected = problem.Steps;
        var written = StepPattern().Matches(completion).ToList();
        var steps = new List<StepGrade>();
        for (int i = 0; i < Math.Max(expected.Count, written.Count); i++)
        {
            if (i >= written.Count)
            {
                steps.Add(new StepGrade("", false, false));
                continue;
            }
            var m = written[i];
            if (!TryInt(m.Groups["l"].Value, out int l) || !TryInt(m.Groups["r"].Value, out int r)
                || !TryInt(m.Groups["res"].Value, out int res))
            {
                steps.Add(new StepGrade(m.Value, false, false));
                continue;
            }
            char op = m.Groups["op"].Value[0];
            bool holds = (op == '+' ? l + r : l - r) == res;
            bool faithful = i < expected.Count
                && expected[i].Left == l && expected[i].Op == op && expected[i].Right == r;
            steps.Add(new StepGrade(m.Value, holds, faithful));
        }
        var answer = AnswerPattern().Match(completion);
        int? final = answer.Success && TryInt(answer.Groups["n"].Value, out int n) ? n : null;
        return new ArithmeticGrade(SolutionPattern().IsMatch(completion), final, final == problem.Answer, steps);
    }

    private static bool TryInt(string s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    [GeneratedRegex(@"(?<l>\d+) (?<op>[+-]) (?<r>\d+) = (?<res>\d+)")]
    private static partial Regex StepPattern();

    [GeneratedRegex(@"answer (?<n>\d+)")]
    private static partial Regex AnswerPattern();

    [GeneratedRegex(@"^ (?:\d+ [+-] \d+ = \d+ , )*answer \d+ \.$")]
    private static partial Regex SolutionPattern();
}
