using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>The loss of one micro-batch (scalar, with graph) and its metrics under TRL's names (detached scalars).</summary>
public sealed record StepResult(Tensor Loss, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// The whole per-batch computation, shared by training and evaluation, for either batch kind: one forward of the
/// policy over the batch's rows, the reference log-probs from the strategy, the objective's requested inputs from
/// <see cref="TrainerInputs"/>, then the objective on pair statistics (pairs) or unpaired statistics (KTO).
/// </summary>
public sealed class PreferenceStep
{
    private readonly CausalLM policy;
    private readonly IReferenceStrategy reference;
    private readonly IPreferenceObjective objective;
    private readonly Device device;
    private readonly TrainerInputs inputs;

    /// <summary>A step for <paramref name="objective"/>; its requested inputs are matched to providers here.</summary>
    public PreferenceStep(CausalLM policy, IReferenceStrategy reference, IPreferenceObjective objective, Device device,
        IEnumerable<IInputProvider>? extraProviders = null)
    {
        this.policy = policy;
        this.reference = reference;
        this.objective = objective;
        this.device = device;
        inputs = new TrainerInputs(objective, extraProviders);
    }

    /// <summary>The objective's requested inputs, matched to providers.</summary>
    public TrainerInputs Inputs => inputs;

    /// <summary>Fails unless the objective trains on batches of <paramref name="kind"/>.</summary>
    public void Accept(BatchKind kind)
    {
        if (kind == BatchKind.Unpaired && objective is not IUnpairedObjective)
            throw new ObjectiveException(
                $"objective '{objective.Id}' trains on pairs; unpaired (prompt/completion/label) data trains kto");
        bool responses = inputs.Requests.Any(r => r is ResponseTreeInputs or ResponseTokenLogProbs or OreoInputs);
        if (kind == BatchKind.Responses && !responses)
            throw new ObjectiveException($"objective '{objective.Id}' trains on pairs; `tree` records train tpo and "
                + "`outcome` records train oreo");
        if (kind != BatchKind.Responses && responses)
            throw new ObjectiveException($"objective '{objective.Id}' trains on scored responses: `tree` records "
                + "(tpo) or `outcome` records (oreo), not pairs or unpaired examples");
    }

    /// <summary>Loss and metrics for <paramref name="batch"/>; the loss keeps its graph when gradients are on.</summary>
    public StepResult Run(PreferenceBatch batch, ObjectiveContext context)
    {
        Accept(batch.Kind);
        int n = batch.Count;
        bool logProbs = objective.ReadsLogProbs || inputs.NeedsTokenLogProbs;
        var policyRows = logProbs
            ? BatchLogProbs.Of(policy, batch, device, inputs.NeedsTokenLogProbs, inputs.NeedsTokenHidden) // (R)
            : NoLogProbs(batch);
        var refRows = objective.NeedsReference ? reference.LogProbs(batch, device) : null; // (R) or null
        var extras = inputs.For(new InputContext(batch, policy, reference, policyRows, device));
        ObjectiveOutput output;
        Tensor chosenLogps, rejectedLogps;
        Tensor chosenRows, rejectedRows; // (R) bool: which rows are chosen (desirable) and rejected (undesirable)
        if (batch.Kind == BatchKind.Pairs)
        {
            var stats = new PairStats(
                policyRows.Sums[..n], policyRows.Sums[n..],
                refRows?[..n], refRows?[n..],
                policyRows.Counts[..n], policyRows.Counts[n..])
            { Inputs = extras };
            output = objective.Compute(stats, context);
            (chosenLogps, rejectedLogps) = stats.Policy(objective.Reduction);
            chosenRows = arange(2 * n, device: device) < n;
            rejectedRows = chosenRows.logical_not();
        }
        else if (batch.Kind == BatchKind.Responses)
        {
            // Statistics of the first (best-scored) and last (lowest-scored) response of each prompt: rows 0..B-1 and
            // (N-1)B..NB-1 (the same rows when N = 1); the objective reads its per-token inputs.
            int last = (batch.Slots - 1) * n;
            var stats = new PairStats(
                policyRows.Sums[..n], policyRows.Sums[last..],
                refRows?[..n], refRows?[last..],
                policyRows.Counts[..n], policyRows.Counts[last..])
            { Inputs = extras };
            output = objective.Compute(stats, context);
            (chosenLogps, rejectedLogps) = stats.Policy(objective.Reduction);
            var row = arange(policyRows.Sums.shape[0], device: device);
            (chosenRows, rejectedRows) = (row < n, row >= last);
        }
        else
        {
            var kl = extras.Get(new MismatchedLogProbs(), objective.Id);
            var stats = new UnpairedStats(policyRows.Sums, refRows
                ?? throw new ObjectiveException($"objective '{objective.Id}' needs reference log-probs"),
                batch.Labels(policyRows.Sums.dtype).to(device), kl.Policy, kl.Reference);
            output = ((IUnpairedObjective)objective).Compute(stats, context);
            var logps = objective.Reduction == LogProbReduction.Sum
                ? policyRows.Sums : policyRows.Sums / policyRows.Counts; // (N)
            var desirable = stats.Labels.to(ScalarType.Bool);
            (chosenLogps, rejectedLogps) = (logps[desirable], logps[desirable.logical_not()]);
            (chosenRows, rejectedRows) = (desirable, desirable.logical_not());
        }
        if (!logProbs) (chosenLogps, rejectedLogps) = (chosenLogps[..0], rejectedLogps[..0]); // nothing to log
        var logits = new Dictionary<string, double>();
        if (policyRows.LogitSums is { } sums)
        {
            AddMeanLogits(logits, "logits/chosen", sums, policyRows.Counts, chosenRows);
            AddMeanLogits(logits, "logits/rejected", sums, policyRows.Counts, rejectedRows);
        }
        bool paired = batch.Kind == BatchKind.Pairs || (batch.Kind == BatchKind.Responses && batch.Slots > 1);
        return Result(output, chosenLogps, rejectedLogps, logits, paired);
    }

    /// <summary>
    /// TRL's <c>logits/chosen</c> (<c>logits/rejected</c>): the mean of the policy's logits over every completion token
    /// of the selected rows and every vocabulary entry, i.e. the selected rows' summed per-token vocabulary means over
    /// their token count. Nothing when the rows hold no completion token.
    /// </summary>
    private static void AddMeanLogits(Dictionary<string, double> metrics, string name, Tensor logitSums, Tensor counts,
        Tensor rows)
    {
        double tokens = counts[rows].to(ScalarType.Float64).sum().item<double>();
        if (tokens > 0) metrics[name] = logitSums[rows].to(ScalarType.Float64).sum().item<double>() / tokens;
    }

    /// <summary>
    /// Rows for an objective that reads no log-probs: sums 0 and the completion token counts, (R) each, in the
    /// policy's float dtype (float32 for half precision), with no forward pass.
    /// </summary>
    private RowLogProbs NoLogProbs(PreferenceBatch batch)
    {
        var dtype = policy.parameters().First().dtype is ScalarType.BFloat16 or ScalarType.Float16
            ? ScalarType.Float32 : policy.parameters().First().dtype;
        var counts = batch.CompletionMask[.., 1..].sum(1).to(dtype).to(device); // (R, T-1) -> (R)
        return new RowLogProbs(zeros_like(counts), counts);
    }

    /// <summary>
    /// The mean loss (plus the mean of any auxiliary losses) and TRL's metrics; accuracies and margins compare each
    /// pair's rewards (for trees: the best- against the lowest-scored response), so they exist for pairs and trees
    /// only, and a side with no example in the batch (all desirable, say) reports nothing.
    /// </summary>
    private static StepResult Result(ObjectiveOutput output, Tensor chosenLogps, Tensor rejectedLogps,
        IReadOnlyDictionary<string, double> logits, bool paired)
    {
        var loss = output.Losses.mean();
        if (output.AuxiliaryLosses is { } auxiliary) loss = loss + auxiliary.mean(); // a value head fitted alongside
        var metrics = new Dictionary<string, double> { ["loss"] = Mean(loss) }; // float32 or float64 models
        if (output.ChosenRewards.numel() > 0) metrics["rewards/chosen"] = Mean(output.ChosenRewards);
        if (output.RejectedRewards.numel() > 0) metrics["rewards/rejected"] = Mean(output.RejectedRewards);
        if (paired)
        {
            var correct = (output.ChosenRewards > output.RejectedRewards).to(ScalarType.Float32); // (B)
            metrics["rewards/accuracies"] = Mean(correct);
            metrics["rewards/margins"] = Mean(output.ChosenRewards - output.RejectedRewards);
        }
        if (chosenLogps.numel() > 0) metrics["logps/chosen"] = Mean(chosenLogps);
        if (rejectedLogps.numel() > 0) metrics["logps/rejected"] = Mean(rejectedLogps);
        foreach (var (name, value) in logits) metrics[name] = value;
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
