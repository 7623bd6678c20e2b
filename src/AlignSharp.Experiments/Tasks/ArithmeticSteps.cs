namespace AlignSharp.Tasks;

/// <summary>
/// A solution of an arithmetic problem as reasoning steps: each step is the text up to and including the next
/// <c>,</c> or <c>.</c> (leading space kept), so <c>" 5 + 3 = 8 , 8 - 2 = 6 , answer 6 ."</c> is the steps
/// <c>" 5 + 3 = 8 ,"</c>, <c>" 8 - 2 = 6 ,"</c>, <c>" answer 6 ."</c>: one per equation, then the answer as the last
/// step. The steps of any text concatenate back to it exactly, and a problem's correct steps are those of its
/// reference solution (<see cref="ArithmeticProblem.Solution"/>), the one well-formed correct text.
/// </summary>
public static class ArithmeticSteps
{
    /// <summary>The steps of <paramref name="text"/>; a tail without a closing mark is a last step of its own.</summary>
    public static IReadOnlyList<string> Split(string text)
    {
        var steps = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is not (',' or '.')) continue;
            steps.Add(text[start..(i + 1)]);
            start = i + 1;
        }
        if (start < text.Length) steps.Add(text[start..]);
        return steps;
    }

    /// <summary>The correct steps of <paramref name="problem"/>: one per event, then the answer.</summary>
    public static IReadOnlyList<string> Correct(ArithmeticProblem problem) => Split(problem.Solution);

    /// <summary>
    /// Index of the first step of <paramref name="completion"/> that is not the correct one (a step missing at the end
    /// counts: its index is then the number of written steps); null when the completion is the reference solution.
    /// </summary>
    public static int? FirstError(ArithmeticProblem problem, string completion)
    {
        var written = Split(completion);
        var correct = Correct(problem);
        for (int i = 0; i < Math.Max(written.Count, correct.Count); i++)
            if (i >= written.Count || i >= correct.Count || written[i] != correct[i]) return i;
        return null;
    }

    /// <summary>
    /// True when the checker finds step <paramref name="index"/> of <paramref name="text"/> wrong: a false or
    /// unfaithful equation (or none) at an equation's place; at the answer's place, a wrong or missing final answer or
    /// an equation the problem does not ask for.
    /// </summary>
    public static bool IsWrong(ArithmeticProblem problem, string text, int index)
    {
        var grade = ArithmeticChecker.Check(problem, text);
        int equations = problem.Steps.Count;
        return index < equations ? !grade.Steps[index].Correct : !grade.FinalCorrect || grade.Steps.Count > equations;
    }

    /// <summary>
    /// The solution of <paramref name="problem"/> with one slip: equation <paramref name="index"/> writes a result one
    /// too high, and every later equation carries that value on correctly (true equations on a wrong operand), so the
    /// first error is at <paramref name="index"/> and the final answer is wrong.
    /// </summary>
    public static string WithCarriedError(ArithmeticProblem problem, int index)
    {
        var steps = problem.Steps;
        if (index < 0 || index >= steps.Count)
            throw new TaskException($"error step must be in 0..{steps.Count - 1}, got {index}");
        var written = new List<ArithmeticStep>();
        int value = problem.Start;
        for (int i = 0; i < steps.Count; i++)
        {
            int result = (steps[i].Op == '+' ? value + steps[i].Right : value - steps[i].Right) + (i == index ? 1 : 0);
            written.Add(steps[i] with { Left = value, Result = result });
            value = result;
        }
        return " " + string.Concat(written.Select(s => s + " , "))
            + string.Create(System.Globalization.CultureInfo.InvariantCulture, $"answer {value} .");
    }

    /// <summary>True when the checker finds step <paramref name="index"/> of <paramref name="text"/> right.</summary>
    public static bool IsRight(ArithmeticProblem problem, string text, int index)
    {
        var grade = ArithmeticChecker.Check(problem, text);
        int equations = problem.Steps.Count;
        return index < equations ? grade.Steps[index].Correct
            : grade.FinalCorrect && grade.Steps.Count == equations && grade.Steps.All(s => s.Correct);
    }
}
