using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Experiments;
using AlignSharp.Tasks;

namespace AlignSharp.Tests.Experiments;

public sealed class ReasoningPairsTests
{
    // q: ann has 5 pens . ann gets 3 more . ann gives 2 away . how many pens ?  ->  5 + 3 = 8 , 8 - 2 = 6 , answer 6 .
    private static readonly ArithmeticProblem Example = new("ann", "pens", 5,
        [new ArithmeticEvent("ann", "gets", 3), new ArithmeticEvent("ann", "gives", 2)]);

    [Fact]
    public void A_solution_splits_into_its_equations_then_the_answer_and_any_text_splits_back_exactly()
    {
        Assert.Equal([" 5 + 3 = 8 ,", " 8 - 2 = 6 ,", " answer 6 ."], ArithmeticSteps.Correct(Example));
        foreach (var text in new[] { "", " 5 + 3", " 5 + 3 = 8 ,, x", ".,.", " answer 6 . 7 + 1" })
            Assert.Equal(text, string.Concat(ArithmeticSteps.Split(text)));
        Assert.Equal([" 5 + 3 = 8 ,", " 8 -"], ArithmeticSteps.Split(" 5 + 3 = 8 , 8 -"));
    }

    [Theory]
    [InlineData(" 5 + 3 = 8 , 8 - 2 = 6 , answer 6 .", null)]
    [InlineData(" 5 + 3 = 9 , 9 - 2 = 7 , answer 7 .", 0)]
    [InlineData(" 5 + 3 = 8 , 8 - 2 = 7 , answer 7 .", 1)]
    [InlineData(" 5 + 3 = 8 , 8 - 2 = 6 , answer 7 .", 2)]
    [InlineData(" 5 + 3 = 8 , answer 8 .", 1)] // a missing step: the answer comes one step early
    [InlineData(" 5 + 3 = 8 , 8 - 2 = 6 ,", 2)] // truncated: the missing answer is the first error
    [InlineData(" 5 + 3 = 8 , 8 - 2 = 6 , answer 6 . 1", 3)] // text after the answer
    public void The_first_error_is_the_first_step_that_is_not_the_correct_one(string completion, int? expected) =>
        Assert.Equal(expected, ArithmeticSteps.FirstError(Example, completion));

    [Fact]
    public void A_step_dpo_pair_shares_the_correct_prefix_and_the_checker_passes_chosen_and_fails_rejected()
    {
        var pair = ReasoningPairs.NextStep(Example, " 5 + 3 = 8 , 8 - 2 = 7 , answer 7 .")!;
        Assert.Equal(ReasoningPairKind.NextStep, pair.Kind);
        Assert.Equal(1, pair.Step);
        Assert.Equal([" 5 + 3 = 8 ,"], pair.Prefix);
        Assert.Equal(" 8 - 2 = 6 ,", pair.Chosen);
        Assert.Equal(" 8 - 2 = 7 ,", pair.Rejected);
        var withChosen = ArithmeticChecker.Check(Example, pair.PrefixText + pair.Chosen);
        var withRejected = ArithmeticChecker.Check(Example, pair.PrefixText + pair.Rejected);
        Assert.True(withChosen.Steps[0].Correct && withChosen.Steps[1].Correct);
        Assert.True(withRejected.Steps[0].Correct);
        Assert.False(withRejected.Steps[1].ArithmeticHolds); // 8 - 2 = 7 is false

        // An error in the answer: the pair is the answer step itself.
        var answer = ReasoningPairs.NextStep(Example, " 5 + 3 = 8 , 8 - 2 = 6 , answer 7 .")!;
        Assert.Equal((2, " answer 6 .", " answer 7 ."), (answer.Step, answer.Chosen, answer.Rejected));
        // A correct sample, a truncated one, and one that differs only in spacing the checker accepts make no pair.
        Assert.Null(ReasoningPairs.NextStep(Example, Example.Solution));
        Assert.Null(ReasoningPairs.NextStep(Example, " 5 + 3 = 8 , 8 - 2 = 6 ,"));
        Assert.Null(ReasoningPairs.NextStep(Example, " 5 + 3 = 8 ,  8 - 2 = 6 , answer 6 ."));
    }

    [Fact]
    public void Every_step_dpo_pair_from_corrupted_solutions_of_generated_problems_is_a_checked_pair()
    {
        var rng = new Random(5);
        int made = 0;
        foreach (var problem in new ArithmeticGenerator(maxEvents: 3).Problems(300, 11))
        {
            var sample = Corrupt(problem.Solution, rng);
            if (ReasoningPairs.NextStep(problem, sample) is not { } pair) continue;
            made++;
            var correct = ArithmeticSteps.Correct(problem);
            var written = ArithmeticSteps.Split(sample);
            // The prefix is the first Step steps of both the correct solution and the sample.
            Assert.Equal(correct.Take(pair.Step), pair.Prefix);
            Assert.Equal(written.Take(pair.Step), pair.Prefix);
            Assert.Equal(written[pair.Step], pair.Rejected);
            for (int i = 0; i < pair.Step; i++)
                Assert.True(ArithmeticSteps.IsRight(problem, pair.PrefixText, i), $"{problem.Prompt} prefix step {i}");
            Assert.True(ArithmeticSteps.IsRight(problem, pair.PrefixText + pair.Chosen, pair.Step), sample);
            Assert.True(ArithmeticSteps.IsWrong(problem, pair.PrefixText + pair.Rejected, pair.Step), sample);
        }
        Assert.True(made > 200, $"only {made} of 300 corrupted solutions made a pair");
    }

    [Fact]
    public void An_scdpo_pair_keeps_the_correct_rest_and_its_rejected_suffix_diverges_at_the_stated_step()
    {
        var pair = ReasoningPairs.Suffix(Example, 1, " 8 + 2 = 10 , answer 10 .")!;
        Assert.Equal(ReasoningPairKind.Suffix, pair.Kind);
        Assert.Equal(1, pair.Step);
        Assert.Equal([" 5 + 3 = 8 ,"], pair.Prefix);
        Assert.Equal(" 8 - 2 = 6 , answer 6 .", pair.Chosen);
        Assert.Equal(" 8 + 2 = 10 , answer 10 .", pair.Rejected);
        Assert.Equal(Example.Solution, pair.PrefixText + pair.Chosen);
        Assert.True(ArithmeticSteps.IsWrong(Example, pair.PrefixText + pair.Rejected, pair.Step)); // 8 + 2: unfaithful
        Assert.False(ArithmeticChecker.Check(Example, pair.PrefixText + pair.Rejected).FinalCorrect);

        // A regeneration that first repeats a correct step diverges later: the shared prefix grows to the first error.
        var later = ReasoningPairs.Suffix(Example, 0, " 5 + 3 = 8 , 8 - 2 = 5 , answer 5 .")!;
        Assert.Equal((1, " 8 - 2 = 6 , answer 6 .", " 8 - 2 = 5 , answer 5 ."), (later.Step, later.Chosen, later.Rejected));
        // SCDPO keeps only regenerations whose final answer is wrong.
        Assert.Null(ReasoningPairs.Suffix(Example, 1, " 8 - 2 = 6 , answer 6 ."));
        Assert.Null(ReasoningPairs.Suffix(Example, 1, " 8 + 2 = 10 , answer 6 ."));
        Assert.Throws<ExperimentException>(() => ReasoningPairs.Suffix(Example, 3, " answer 1 ."));
    }

    [Fact]
    public void Every_scdpo_pair_from_random_regenerations_diverges_at_its_step_with_a_wrong_final_answer()
    {
        var rng = new Random(9);
        int made = 0;
        foreach (var problem in new ArithmeticGenerator(maxEvents: 3).Problems(300, 12))
        {
            var correct = ArithmeticSteps.Correct(problem);
            int kept = rng.Next(correct.Count);
            string regenerated = Corrupt(string.Concat(correct.Skip(kept)), rng);
            if (ReasoningPairs.Suffix(problem, kept, regenerated) is not { } pair) continue;
            made++;
            Assert.True(pair.Step >= kept);
            Assert.Equal(correct.Take(pair.Step), pair.Prefix);
            Assert.Equal(problem.Solution, pair.PrefixText + pair.Chosen);
            Assert.Equal(string.Concat(correct.Take(kept)) + regenerated, pair.PrefixText + pair.Rejected);
            var rejected = ArithmeticSteps.Split(pair.Rejected);
            Assert.NotEqual(ArithmeticSteps.Split(pair.Chosen)[0], rejected[0]);
            Assert.True(ArithmeticSteps.IsWrong(problem, pair.PrefixText + rejected[0], pair.Step));
            Assert.False(ArithmeticChecker.Check(problem, pair.PrefixText + pair.Rejected).FinalCorrect);
        }
        Assert.True(made > 100, $"only {made} of 300 regenerations made a pair");
    }

    [Fact]
    public void Whole_solution_pairs_take_only_samples_with_a_wrong_final_answer()
    {
        var pair = ReasoningPairs.Whole(Example, " 5 + 3 = 8 , 8 - 2 = 7 , answer 7 .")!;
        Assert.Equal((0, Example.Solution, " 5 + 3 = 8 , 8 - 2 = 7 , answer 7 ."), (pair.Step, pair.Chosen, pair.Rejected));
        Assert.Null(ReasoningPairs.Whole(Example, " 5 + 3 = 9 , 8 - 2 = 6 , answer 6 .")); // lucky final answer
        Assert.Null(ReasoningPairs.Whole(Example, " "));
    }

    [Fact]
    public void Written_pairs_load_through_the_data_path_with_the_prefix_in_the_prompt()
    {
        string dir = TestTemp.Dir("reasoning-pairs");
        var pairs = new[]
        {
            ReasoningPairs.Whole(Example, " 5 + 3 = 8 , answer 8 .")!,
            ReasoningPairs.NextStep(Example, " 5 + 3 = 8 , 8 - 2 = 7 , answer 7 .")!,
            ReasoningPairs.Suffix(Example, 1, " 8 + 2 = 10 , answer 10 .")!,
        };
        string steps = Path.Combine(dir, "steps.jsonl"), whole = Path.Combine(dir, "whole.jsonl");
        ReasoningPairs.Write(steps, pairs, asSteps: true);
        ReasoningPairs.Write(whole, pairs.Take(1), asSteps: false);
        var loaded = PreferenceDataLoader.Load(steps);
        Assert.Equal(DataFormat.Steps, loaded.Format);
        Assert.Equal(3, loaded.Pairs.Count);
        for (int i = 0; i < pairs.Length; i++)
        {
            Assert.Equal(Example.Prompt + pairs[i].PrefixText, loaded.Pairs[i].Prompt);
            Assert.Equal((pairs[i].Chosen, pairs[i].Rejected), (loaded.Pairs[i].Chosen, loaded.Pairs[i].Rejected));
        }
        var plain = PreferenceDataLoader.Load(whole);
        Assert.Equal(DataFormat.Explicit, plain.Format);
        Assert.Equal((Example.Prompt, Example.Solution), (plain.Pairs[0].Prompt, plain.Pairs[0].Chosen));
    }

    [Fact]
    public void Scores_are_means_over_problems_of_final_answers_step_shares_and_full_solutions()
    {
        string[] completions =
        [
            " 5 + 3 = 8 , 8 - 2 = 7 , answer 7 .", // steps 1/2 right, answer wrong
            " 5 + 3 = 8 , 8 - 2 = 6 , answer 6 .", // all right
            " 5 + 3 = 8 , answer 8 .", // second step missing: 1/2
            " 5 + 3 = 8 , 8 - 2 = 6 , 6 + 1 = 7 , answer 7 .", // an extra step: 2/3
        ];
        var score = ReasoningScore.Of([Example, Example, Example, Example], completions);
        // final: (0, 1, 0, 0), mean 1/4, sample sd sqrt((3/16 * 3 + 9/16) / 3) = 1/2, SE 1/2 / 2 = 1/4.
        Assert.Equal(0.25, score.Final.Mean, 12);
        Assert.Equal(0.25, score.Final.StandardError, 12);
        Assert.Equal((0.5 + 1 + 0.5 + 2.0 / 3) / 4, score.Steps.Mean, 12);
        Assert.Equal(0.25, score.Full.Mean, 12);
        Assert.Equal(4, score.Steps.Count);
        Assert.Throws<ExperimentException>(() => ReasoningScore.Of([Example], []));
    }

    [Fact]
    public void A_carried_error_is_wrong_first_at_its_step_then_computes_faithfully_from_the_wrong_value()
    {
        string text = ArithmeticSteps.WithCarriedError(Example, 0);
        Assert.Equal(" 5 + 3 = 9 , 9 - 2 = 7 , answer 7 .", text);
        Assert.Equal(0, ArithmeticSteps.FirstError(Example, text));
        Assert.Equal(" 5 + 3 = 8 , 8 - 2 = 7 , answer 7 .", ArithmeticSteps.WithCarriedError(Example, 1));
        Assert.Equal(1, ArithmeticSteps.FirstError(Example, ArithmeticSteps.WithCarriedError(Example, 1)));
        Assert.Throws<TaskException>(() => ArithmeticSteps.WithCarriedError(Example, 2));
    }

    /// <summary>Changes one random number or operator of <paramref name="text"/>, or cuts it short.</summary>
    private static string Corrupt(string text, Random rng)
    {
        var chars = text.ToCharArray();
        var places = Enumerable.Range(0, chars.Length).Where(i => char.IsDigit(chars[i]) || chars[i] is '+' or '-').ToList();
        if (places.Count == 0 || rng.Next(8) == 0) return text[..rng.Next(text.Length + 1)];
        int at = places[rng.Next(places.Count)];
        chars[at] = chars[at] switch
        {
            '+' => '-',
            '-' => '+',
            var d => (char)('0' + (d - '0' + 1 + rng.Next(8)) % 10),
        };
        return new string(chars);
    }
}
