using AlignSharp.Data;
using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Training;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>
/// The token-level table's objectives that train on plain pairs (no per-token annotation requested): a short run
/// moves the loss down AND the implicit reward margin up (chosen over rejected; for CoPG the first sample, whose
/// reward is higher). TinyRun's synthetic pairs on a tiny GPT-2. The objectives that read their format's annotations
/// train in <see cref="TokenLevelFormatTrainingTests"/>.
/// </summary>
public sealed class TokenLevelTrainingTests
{
    private const int Steps = 8, Pairs = 8;

    private static List<string> ServedIds() =>
        [.. ObjectiveCatalog.TokenLevel.Where(e => e.Inputs.All(TrainerInputs.CanProvide)).Select(e => e.Id)];

    public static TheoryData<string> Plain() => ["step_dpo", "asft", "copg", "ilr_dpo"];

    [Fact]
    public void The_trainer_serves_every_objective_of_the_table_but_oreo_whose_value_head_the_run_adds() =>
        Assert.Equal(["step_dpo", "scdpo", "dmpo", "sdpo", "tpo", "bmc", "asft", "copg", "ilr_dpo", "sr_dpo", "sr_ipo"],
            ServedIds());

    [Theory]
    [MemberData(nameof(Plain))]
    public void Training_moves_the_loss_down_and_the_margin_up(string id)
    {
        var parameters = new Dictionary<string, string>();
        if (id == "ilr_dpo") parameters["alpha"] = "0.05";
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams(parameters));
        var data = TinyRun.Pairs(Pairs).Select((p, i) => p with
        {
            Example = p.Example with
            {
                Extras = new Dictionary<string, double> { ["chosen_score"] = 2 + 0.1 * i, ["rejected_score"] = 1 },
            },
        }).ToList();
        IReferenceStrategy reference = new FrozenReference(TinyRun.Model(1)); // not asked by reference-free asft
        var setup = new TrainingSetup(TinyRun.Model(1), reference, objective, data, [], 0);
        var options = new TrainingOptions
        {
            MaxSteps = Steps, BatchSize = Pairs, LearningRate = 1e-2, WarmupSteps = 0, Schedule = ScheduleKind.Constant,
            Seed = 7, LoggingSteps = 1, SaveTotalLimit = 1,
        };
        var log = new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run();
        reference.Dispose();
        var steps = log.Where(m => m.ContainsKey("loss")).ToList();
        var losses = steps.Select(m => m["loss"]).ToList();
        var margins = steps.Select(m => m["rewards/margins"]).ToList();
        Assert.True(losses[^1] < losses[0], $"{id}: loss did not go down: [{string.Join(", ", losses)}]");
        // A sign error would push the rejected completion up: the margin must rise and end positive.
        Assert.True(margins[^1] > margins[0] && margins[^1] > 0, $"{id}: margin [{string.Join(", ", margins)}]");
    }
}
