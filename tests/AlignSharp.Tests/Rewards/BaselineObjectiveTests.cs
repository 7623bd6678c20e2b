using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Training;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Rewards;

/// <summary>The DPO paper's baselines (Preferred-FT, Unlikelihood) against hand-computed values, and in training.</summary>
public sealed class BaselineObjectiveTests
{
    private static Tensor V(params double[] v) => tensor(v, ScalarType.Float64);

    [Fact]
    public void Preferred_ft_is_the_batch_token_mean_of_the_chosen_nll()
    {
        // pw = (-2, -6), nw = (1, 3): the batch loss is -(−2 − 6)/(1 + 3) = 2; per pair −pw·B/Σnw = (1, 3).
        var s = new PairStats(V(-2, -6), V(-9, -9), null, null, V(1, 3), V(2, 2));
        var output = new PreferredFt().Compute(s, ObjectiveContext.Eval);
        Assert.Equal([1.0, 3.0], output.Losses.data<double>().ToArray());
        Assert.Equal(2.0, output.Losses.mean().item<double>(), 12);
        Assert.Equal([-2.0, -2.0], output.ChosenRewards.data<double>().ToArray()); // length-averaged log-probs
        Assert.False(new PreferredFt().NeedsReference);
    }

    [Fact]
    public void Unlikelihood_adds_the_token_mean_of_log_one_minus_p_on_rejected_tokens()
    {
        // chosen token log-probs (-1, -2) and (-0.5): NLL means 1.5 and 0.5.
        // rejected probabilities (0.5, 0.25) and (0.9): -(log 0.5 + log 0.75)/2 = 0.4904146265058631, -log 0.1 = 2.302585092994046.
        // The padded slot holds NaN: it must never reach the loss.
        double nan = double.NaN;
        var stats = new PairStats(V(-3, -0.5), V(Math.Log(0.5) + Math.Log(0.25), Math.Log(0.9)), null, null, V(2, 1), V(2, 1))
        {
            Extras = new Dictionary<string, Tensor>
            {
                ["policy_chosen_token_logps"] = tensor(new[] { -1.0, -2, -0.5, nan }, [2, 2]),
                ["chosen_mask"] = tensor(new[] { 1.0, 1, 1, 0 }, [2, 2]),
                ["policy_rejected_token_logps"] = tensor(new[] { Math.Log(0.5), Math.Log(0.25), Math.Log(0.9), nan }, [2, 2]),
                ["rejected_mask"] = tensor(new[] { 1.0, 1, 1, 0 }, [2, 2]),
            },
        };
        var one = new Unlikelihood(1.0).Compute(stats, ObjectiveContext.Eval).Losses.data<double>().ToArray();
        Assert.Equal(1.5 + 0.4904146265058631, one[0], 12);
        Assert.Equal(0.5 + 2.302585092994046, one[1], 12);
        var half = new Unlikelihood(0.5).Compute(stats, ObjectiveContext.Eval).Losses.data<double>().ToArray();
        Assert.Equal(1.5 + 0.5 * 0.4904146265058631, half[0], 12);
        Assert.Equal(0.5 + 0.5 * 2.302585092994046, half[1], 12);
        // A rejected token the policy is certain of (p = 1) costs -log(1e-6), finite.
        var certain = stats with
        {
            Extras = new Dictionary<string, Tensor>(stats.Extras) { ["policy_rejected_token_logps"] = tensor(new[] { 0.0, 0, 0, 0 }, [2, 2]) },
        };
        var capped = new Unlikelihood(1.0).Compute(certain, ObjectiveContext.Eval).Losses.data<double>().ToArray();
        Assert.Equal(1.5 - Math.Log(Unlikelihood.MinComplement), capped[0], 6);
    }

    [Theory]
    [InlineData("preferred_ft")]
    [InlineData("unlikelihood")]
    public void Baselines_train_through_the_trainer_and_their_loss_goes_down(string id)
    {
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams());
        var setup = new TrainingSetup(TinyRun.Model(1), new NoReference(), objective, TinyRun.Pairs(8), [], 0);
        var options = new TrainingOptions
        {
            MaxSteps = 8, BatchSize = 8, LearningRate = 1e-2, Schedule = ScheduleKind.Constant, LoggingSteps = 1, Seed = 7,
            SaveTotalLimit = 1,
        };
        var losses = new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run()
            .Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();
        Assert.True(losses.All(double.IsFinite) && losses[^1] < losses[0], $"{id}: [{string.Join(", ", losses)}]");
    }
}
