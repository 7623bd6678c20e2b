using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>The loss of one micro-batch (scalar, with graph) and its metrics under TRL's names (detached scalars).</summary>
public sealed record StepResult(Tensor Loss, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// One forward of the policy over the 2B rows of a batch, the reference log-probs from the strategy, and the
/// objective: the whole per-batch computation, shared by training and evaluation.
/// </summary>
public sealed class PreferenceStep(CausalLM policy, IReferenceStrategy reference, IPreferenceObjective objective, Device device)
{
    private readonly TrainerInputs inputs = new(objective);

    /// <summary>Loss and metrics for <paramref name="batch"/>; the loss keeps its graph when gradients are enabled.</summary>
    public StepResult Run(PreferenceBatch batch, ObjectiveContext context)
    {
        int b = batch.Count;
        var policyRows = BatchLogProbs.Of(policy, batch, device); // sums, counts: (2B)
        var refRows = objective.NeedsReference ? reference.LogProbs(batch, device) : null; // (2B) or null
        var stats = new PairStats(
            policyRows.Sums[..b], policyRows.Sums[b..],
            refRows?[..b], refRows?[b..],
            policyRows.Counts[..b], policyRows.Counts[b..])
        { Extras = inputs.For(batch, policy, reference, policyRows.Sums.dtype, device) };
        var output = objective.Compute(stats, context);
        var loss = output.Losses.mean();

        var metrics = new Dictionary<string, double>
        {
            ["loss"] = Mean(loss),
            ["rewards/chosen"] = Mean(output.ChosenRewards),
            ["rewards/rejected"] = Mean(output.RejectedRewards),
            ["rewards/accuracies"] = Mean((output.ChosenRewards > output.RejectedRewards).to(ScalarType.Float32)),
            ["rewards/margins"] = Mean(output.ChosenRewards - output.RejectedRewards),
            ["logps/chosen"] = Mean(stats.PolicyChosen),
            ["logps/rejected"] = Mean(stats.PolicyRejected),
        };
        foreach (var (name, value) in output.Metrics) metrics[name] = value.to(ScalarType.Float64).item<double>();
        return new StepResult(loss, metrics);
    }

    /// <summary>
    /// Loss and metrics for a batch of N unpaired examples (KTO): rows 0..N-1 are (prompt i, completion i), rows
    /// N..2N-1 the mismatched (prompt i, completion of example i-1) pairs of its KL estimate; labels (N) are 1 for
    /// desirable, 0 for undesirable.
    /// </summary>
    public StepResult RunUnpaired(PreferenceBatch batch, Tensor labels, ObjectiveContext context)
    {
        var unpaired = objective as IUnpairedObjective
            ?? throw new ObjectiveException($"objective '{objective.Id}' trains on pairs; unpaired (prompt/completion/label) data trains kto");
        int n = batch.Count;
        var policyRows = BatchLogProbs.Of(policy, batch, device); // (2N)
        var refRows = reference.LogProbs(batch, device) ?? throw new ObjectiveException($"objective '{objective.Id}' needs reference log-probs");
        var stats = new UnpairedStats(policyRows.Sums[..n], refRows[..n], labels.to(policyRows.Sums.dtype).to(device),
            policyRows.Sums[n..].detach(), refRows[n..]);
        var output = unpaired.Compute(stats, context);
        var loss = output.Losses.mean();
        var desirable = labels.to(ScalarType.Bool).to(device);
        var metrics = new Dictionary<string, double> { ["loss"] = Mean(loss) };
        if (output.ChosenRewards.numel() > 0)
        {
            metrics["rewards/chosen"] = Mean(output.ChosenRewards);
            metrics["logps/chosen"] = Mean(stats.Policy[desirable]);
        }
        if (output.RejectedRewards.numel() > 0)
        {
            metrics["rewards/rejected"] = Mean(output.RejectedRewards);
            metrics["logps/rejected"] = Mean(stats.Policy[desirable.logical_not()]);
        }
        foreach (var (name, value) in output.Metrics) metrics[name] = value.to(ScalarType.Float64).item<double>();
        return new StepResult(loss, metrics);
    }

    private static double Mean(Tensor t) => t.detach().to(ScalarType.Float64).mean().item<double>();
}

/// <summary>Averages metrics over micro-batches and steps between log lines.</summary>
public sealed class MetricMeans
{
    private readonly Dictionary<string, (double Sum, int Count)> acc = [];

    /// <summary>Adds one observation of each metric.</summary>
    public void Add(IReadOnlyDictionary<string, double> metrics)
    {
        foreach (var (k, v) in metrics)
        {
            var (s, c) = acc.GetValueOrDefault(k);
            acc[k] = (s + v, c + 1);
        }
    }

    /// <summary>True when nothing was added since the last <see cref="Take"/>.</summary>
    public bool IsEmpty => acc.Count == 0;

    /// <summary>The means, with names prefixed; resets.</summary>
    public Dictionary<string, double> Take(string prefix = "")
    {
        var result = acc.ToDictionary(kv => prefix + kv.Key, kv => kv.Value.Sum / kv.Value.Count);
        acc.Clear();
        return result;
    }
}
