using AlignSharp.Objectives;
using AlignSharp.Training;

namespace AlignSharp.Tests.Training;

/// <summary>Serial: these tests compare runs bit for bit, so nothing may change torch's threads or global generator meanwhile.</summary>
[Collection("TorchGlobalSeed")]
public sealed class TrainerInputsTests
{
    private static IReadOnlyList<Dictionary<string, double>> Train(string id, int steps = 25)
    {
        var pairs = TinyRun.Pairs(8);
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams());
        var setup = new TrainingSetup(TinyRun.Model(), new FrozenReference(TinyRun.Model()), objective, pairs, pairs, 0);
        var options = new TrainingOptions { MaxSteps = steps, BatchSize = 8, LearningRate = 1e-2, Schedule = ScheduleKind.Constant, LoggingSteps = 1 };
        return new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run();
    }

    [Fact]
    public void Kto_on_paired_data_gets_its_mismatched_kl_from_the_trainer_and_learns()
    {
        var log = Train("kto");
        var train = log.Where(m => m.ContainsKey("loss")).ToList();
        Assert.All(train, m => Assert.True(m.ContainsKey("kl") && double.IsFinite(m["kl"])));
        Assert.Equal(0.0, train[0]["kl"], 6); // policy == reference at the first step: the KL estimate is clamped at 0
        Assert.Equal(0.5, train[0]["loss"], 6); // 1 - sigmoid(0) for every example
        Assert.True(train[^1]["loss"] < train[0]["loss"], $"kto loss {train[0]["loss"]} -> {train[^1]["loss"]}");
        Assert.True(log[^1]["eval_rewards/accuracies"] > 0.5);
    }

    [Fact]
    public void Relative_po_gets_prompt_embeddings_from_the_policy_and_learns()
    {
        var train = Train("relative_po").Where(m => m.ContainsKey("loss")).ToList();
        Assert.Equal(Math.Log(2), train[0]["loss"], 6); // S_ij = 0 when policy == reference
        Assert.True(train[^1]["loss"] < train[0]["loss"]);
    }

    [Fact]
    public void An_input_the_trainer_cannot_provide_is_a_clear_error()
    {
        var e = Assert.Throws<ObjectiveException>(() => new TrainerInputs(ObjectiveCatalog.Create("dph_separate", new ObjectiveParams())));
        Assert.Contains("'chosen_head_rewards'", e.Message);
    }
}
