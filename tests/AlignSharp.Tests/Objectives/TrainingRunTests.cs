using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Training;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives;

/// <summary>
/// A short training run with each objective moves its loss down. Objectives whose inputs the trainer or the
/// data provide run through <see cref="PreferenceTrainer"/> (reference-free ones with a reference that fails if
/// asked; KTO's mismatched pairs and Relative PO's prompt embeddings come from <see cref="TrainerInputs"/>). The
/// reward-head objectives (dph_*), whose head outputs the trainer does not produce, run the same steps in a small
/// local loop with a linear head on the last hidden state.
/// Data: TinyRun's synthetic pairs (chosen completions use low token ids, rejected ones high ids) on a tiny GPT-2.
/// </summary>
public sealed class TrainingRunTests
{
    private const int Steps = 8, Pairs = 8;

    private static bool NeedsTrainerInputs(ObjectiveEntry e) =>
        !e.Inputs.All(TrainerInputs.CanProvide);

    public static TheoryData<string> TrainerObjectives() => [.. ObjectiveCatalog.All.Where(e => !NeedsTrainerInputs(e)).Select(e => e.Id)];

    public static TheoryData<string> LocalObjectives() => [.. ObjectiveCatalog.All.Where(NeedsTrainerInputs).Select(e => e.Id)];

    private static List<TokenizedPair> Data() =>
    [
        .. TinyRun.Pairs(Pairs).Select((p, i) => p with
        {
            Example = p.Example with
            {
                Extras = new Dictionary<string, double>
                {
                    ["chosen_score"] = 2 + 0.1 * i, ["rejected_score"] = 1, ["chosen_win_prob"] = 0.7, ["rejected_win_prob"] = 0.3,
                },
            },
        }),
    ];

    [Theory]
    [MemberData(nameof(TrainerObjectives))]
    public void Training_with_the_trainer_moves_the_loss_down(string id)
    {
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams());
        IReferenceStrategy reference = objective.NeedsReference ? new FrozenReference(TinyRun.Model(1)) : new FailingReference(id);
        var setup = new TrainingSetup(TinyRun.Model(1), reference, objective, Data(), [], 0);
        var options = new TrainingOptions
        {
            MaxSteps = Steps, BatchSize = Pairs, LearningRate = 1e-2, WarmupSteps = 0, Schedule = ScheduleKind.Constant,
            Seed = 7, LoggingSteps = 1, SaveTotalLimit = 1,
        };
        var log = new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run();
        reference.Dispose();
        var losses = log.Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();
        Assert.Equal(Steps, losses.Count);
        Assert.True(losses.All(double.IsFinite), $"{id}: [{string.Join(", ", losses)}]");
        Assert.True(losses[^1] < losses[0], $"{id}: loss did not go down: [{string.Join(", ", losses)}]");
    }

    [Theory]
    [MemberData(nameof(LocalObjectives))]
    public void Training_a_reward_head_moves_the_loss_down(string id)
    {
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams());
        var pairs = Data();
        var policy = TinyRun.Model(1);
        var reference = TinyRun.Model(1);
        reference.eval();
        manual_seed(5);
        var head = nn.Linear(TinyRun.Config.HiddenSize, 1); // DPH reward head on the last hidden state
        using var batch = PreferenceCollator.Collate(pairs, 0);
        using var optimizer = optim.AdamW(policy.parameters().Concat(head.parameters()), lr: 1e-2);
        var losses = new List<double>();
        for (int step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var rows = BatchLogProbs.Of(policy, batch, CPU); // (2B)
            Tensor refRows;
            using (no_grad()) refRows = BatchLogProbs.Of(reference, batch, CPU).Sums;
            var hidden = policy.ForwardHidden(batch.InputIds, batch.AttentionMask, batch.PositionIds); // (2B, T, C)
            var last = (batch.AttentionMask.sum(1) - 1).view(-1, 1, 1).expand(-1, 1, hidden.shape[2]); // (2B, 1, C)
            var q = head.forward(hidden.gather(1, last).squeeze(1)).squeeze(1); // (2B, C) -> (2B)
            var stats = new PairStats(rows.Sums[..Pairs], rows.Sums[Pairs..], refRows[..Pairs], refRows[Pairs..], rows.Counts[..Pairs], rows.Counts[Pairs..])
            {
                Extras = new Dictionary<string, Tensor>
                {
                    ["chosen_head_rewards"] = q[..Pairs],
                    ["rejected_head_rewards"] = q[Pairs..],
                },
            };
            var loss = objective.Compute(stats, new ObjectiveContext(true, step, Steps, null)).Losses.mean();
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.True(losses.All(double.IsFinite), $"{id}: [{string.Join(", ", losses)}]");
        Assert.True(losses[^1] < losses[0], $"{id}: loss did not go down: [{string.Join(", ", losses)}]");
    }

    /// <summary>A reference that must never be asked: reference-free objectives run no reference forward.</summary>
    private sealed class FailingReference(string id) : IReferenceStrategy
    {
        public string Name => "failing";

        public Tensor? LogProbs(PreferenceBatch batch, Device device) =>
            throw new InvalidOperationException($"reference-free objective '{id}' triggered a reference forward");

        public void Dispose() { }
    }
}
