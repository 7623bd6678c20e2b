using AlignSharp.Tasks;

namespace AlignSharp.Tests.Tasks;

public sealed class ArithmeticTaskTests
{
    private static readonly ArithmeticProblem Example = new("ann", "pens", 5,
        [new ArithmeticEvent("ann", "gets", 3), new ArithmeticEvent("ann", "gives", 2)]);

    [Fact]
    public void A_problem_reads_as_a_prompt_and_its_solution_writes_each_step_then_the_answer()
    {
        Assert.Equal("q: ann has 5 pens . ann gets 3 more . ann gives 2 away . how many pens ?", Example.Prompt);
        Assert.Equal(" 5 + 3 = 8 , 8 - 2 = 6 , answer 6 .", Example.Solution);
        Assert.Equal(6, Example.Answer);
        Assert.Equal(Example.Prompt, ArithmeticProblem.Parse(Example.Prompt)!.Prompt);
    }

    [Fact]
    public void Generation_is_seeded_and_every_generated_problem_round_trips_and_stays_non_negative()
    {
        var g = new ArithmeticGenerator(maxEvents: 3);
        Assert.Equal(g.Prompts(100, 7), g.Prompts(100, 7));
        Assert.NotEqual(g.Prompts(100, 7), g.Prompts(100, 8));
        var problems = g.Problems(2000, 1);
        foreach (var p in problems)
        {
            Assert.InRange(p.Events.Count, 1, 3);
            Assert.All(p.Steps, s => Assert.InRange(s.Result, 0, 36));
            Assert.Equal(p, ArithmeticProblem.Parse(p.Prompt)! with { Events = p.Events });
            Assert.Equal(p.Events, ArithmeticProblem.Parse(p.Prompt)!.Events);
        }
        // All four verbs and all event counts occur.
        Assert.Equal(4, problems.SelectMany(p => p.Events).Select(e => e.Verb).Distinct().Count());
        Assert.Equal(3, problems.Select(p => p.Events.Count).Distinct().Count());
    }

    [Fact]
    public void The_reference_solution_of_every_generated_problem_is_fully_correct()
    {
        foreach (var text in ArithmeticGenerator.Default.Corpus(500, 3))
        {
            int q = text.IndexOf('?');
            string prompt = text[..(q + 1)], completion = text[(q + 1)..];
            var grade = ArithmeticChecker.Check(prompt, completion);
            Assert.True(grade.FullyCorrect, text);
            Assert.Equal(1.0, grade.StepAccuracy);
            Assert.Equal(1.0, new ArithmeticChecker(ArithmeticRewardKind.Strict).Score(prompt, completion));
        }
    }

    [Theory]
    // Wrong final answer after right steps: the steps stay right, the answer is wrong.
    [InlineData(" 5 + 3 = 8 , 8 - 2 = 6 , answer 7 .", true, false, "11")]
    // A false equation in step 1 carried on faithfully: step 1 fails arithmetic, step 2 is not the asked operation.
    [InlineData(" 5 + 3 = 9 , 9 - 2 = 7 , answer 7 .", true, false, "00")]
    // A true equation on the wrong operand (5 instead of 8): arithmetic holds, but it is not faithful.
    [InlineData(" 5 + 3 = 8 , 5 - 2 = 3 , answer 3 .", true, false, "10")]
    // A lucky final answer after a wrong step still has the step marked wrong.
    [InlineData(" 5 + 3 = 9 , 8 - 2 = 6 , answer 6 .", true, true, "01")]
    // A missing step and a malformed text.
    [InlineData(" 5 + 3 = 8 answer 6", false, true, "10")]
    [InlineData("", false, false, "00")]
    public void Each_step_and_the_final_answer_are_checked(string completion, bool wellFormed, bool finalCorrect,
        string stepsCorrect)
    {
        var grade = ArithmeticChecker.Check(Example, completion);
        Assert.Equal(wellFormed, grade.WellFormed);
        Assert.Equal(finalCorrect, grade.FinalCorrect);
        Assert.Equal(stepsCorrect, string.Concat(grade.Steps.Select(s => s.Correct ? '1' : '0')));
        Assert.False(grade.FullyCorrect);
        Assert.Equal(finalCorrect ? 1.0 : 0.0, ArithmeticChecker.Default.Score(Example.Prompt, completion));
        Assert.Equal(stepsCorrect.Count(c => c == '1') / 2.0,
            new ArithmeticChecker(ArithmeticRewardKind.Steps).Score(Example.Prompt, completion));
    }

    [Fact]
    public void Extra_steps_are_graded_wrong_and_a_prompt_that_is_no_problem_is_an_error()
    {
        var grade = ArithmeticChecker.Check(Example, " 5 + 3 = 8 , 8 - 2 = 6 , 6 + 0 = 6 , answer 6 .");
        Assert.Equal("110", string.Concat(grade.Steps.Select(s => s.Correct ? '1' : '0')));
        Assert.True(grade.FinalCorrect);
        Assert.False(grade.FullyCorrect);

        Assert.Null(ArithmeticProblem.Parse("review: the film"));
        Assert.Null(ArithmeticProblem.Parse("q: ann has 5 pens . ann gets 3 away . how many pens ?"));
        var e = Assert.Throws<TaskException>(() => ArithmeticChecker.Default.Score("review: the film", " 1"));
        Assert.Contains("not an arithmetic problem", e.Message);
        Assert.Throws<TaskException>(() => new ArithmeticGenerator(maxEvents: 0));
    }
}
