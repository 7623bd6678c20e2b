using System.Text.Json.Nodes;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// β-DPO, DPO with a dynamic β (Wu et al. 2024, https://arxiv.org/abs/2407.08639; junkangwu/beta-DPO):
/// margins M_i = h_i; in training, M0 ← m·M0 + (1−m)·mean(M) and σ ← m·σ + (1−m)·std(M) (unbiased), both from 0;
/// keep ⌊B(1−ρ)⌋ pairs (at least one) drawn without replacement from the run's generator with weight
/// exp(−½((M_i − M0)/σ)²) (uniform when σ = 0); β_b = max(1e-3, β0 (1 + α (mean_kept(M) − M0))), detached;
/// <c>loss = mean over kept of −log σ(β_b h_i)</c>.
/// Intuition: raise β on batches whose margins are above the running average (informative pairs) and lower it
/// otherwise, and drop outlier pairs, whose margins are likely noise.
/// Per-pair losses of dropped pairs are 0 and kept ones are scaled by B/kept, so the trainer's mean over B is
/// the mean over the kept pairs. In evaluation, the state is not updated and every pair is kept.
/// </summary>
public sealed class BetaDpo : IPreferenceObjective, IStatefulObjective
{
    private static readonly NumberParameter BetaParam = new("beta", 0.1, "base temperature β0", Interval.Positive);
    private static readonly NumberParameter AlphaParam = new("alpha", 0.6, "sensitivity α of β to the batch margin", Interval.Any);
    private static readonly NumberParameter FilterParam = new("filter_ratio", 0.2, "fraction ρ of pairs dropped per training batch", new Interval(0, 1, false, true));
    private static readonly NumberParameter MomentumParam = new("momentum", 0.9, "momentum m of the margin statistics", new Interval(0, 1, false, true));

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "beta_dpo", "β-DPO: batch-adaptive β with margin-guided filtering", "https://arxiv.org/abs/2407.08639",
        "M_i = h_i; M0, sd: EMAs (momentum) of mean and unbiased std of M, training only; keep floor(B(1-filter_ratio)) pairs sampled with weight exp(-0.5((M_i-M0)/sd)^2); beta_b = max(1e-3, beta (1 + alpha (mean_kept(M) - M0))); mean over kept of -ls(beta_b h_i)",
        [BetaParam, AlphaParam, FilterParam, MomentumParam],
        p => new BetaDpo(p.Get(BetaParam), p.Get(AlphaParam), p.Get(FilterParam), p.Get(MomentumParam)));

    /// <summary>Creates β-DPO with fresh statistics (M0 = σ = 0).</summary>
    public BetaDpo(double beta, double alpha, double filterRatio, double momentum)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
        FilterRatio = FilterParam.Check(Id, filterRatio);
        Momentum = MomentumParam.Check(Id, momentum);
    }

    /// <summary>Base β0.</summary>
    public double Beta { get; }

    /// <summary>Sensitivity α.</summary>
    public double Alpha { get; }

    /// <summary>Dropped fraction ρ.</summary>
    public double FilterRatio { get; }

    /// <summary>Momentum m.</summary>
    public double Momentum { get; }

    /// <summary>Running margin mean M0.</summary>
    public double MarginMean { get; private set; }

    /// <summary>Running margin standard deviation σ.</summary>
    public double MarginStd { get; private set; }

    /// <inheritdoc />
    public string Id => "beta_dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var h = cw - cl; // (B)
        var margins = PairInputs.Values(h);
        int b = margins.Length;
        if (b == 0) throw new ObjectiveException($"objective '{Id}': empty batch");
        var keep = Enumerable.Repeat(true, b).ToArray();
        if (context.Training)
        {
            double mean = margins.Average();
            double std = b > 1 ? Math.Sqrt(margins.Sum(m => (m - mean) * (m - mean)) / (b - 1)) : 0.0;
            MarginMean = Momentum * MarginMean + (1 - Momentum) * mean;
            MarginStd = Momentum * MarginStd + (1 - Momentum) * std;
            keep = Select(margins, context);
        }
        int kept = keep.Count(k => k);
        double keptMean = margins.Where((_, i) => keep[i]).Average();
        double batchBeta = Math.Max(1e-3, Beta * (1 + Alpha * (keptMean - MarginMean)));
        var scale = tensor(keep.Select(k => k ? (double)b / kept : 0.0).ToArray()).to(h.dtype).to(h.device); // (B)
        var losses = -F.logsigmoid(batchBeta * h) * scale;
        return new ObjectiveOutput(losses, (batchBeta * cw).detach(), (batchBeta * cl).detach())
        {
            Metrics = new Dictionary<string, Tensor>
            {
                ["beta_dpo/beta"] = tensor(batchBeta),
                ["beta_dpo/margin_mean"] = tensor(MarginMean),
                ["beta_dpo/margin_std"] = tensor(MarginStd),
                ["beta_dpo/kept"] = tensor((double)kept),
            },
        };
    }

    /// <summary>Which pairs a training batch keeps: ⌊B(1−ρ)⌋ (at least 1) sampled by Gaussian weight around M0.</summary>
    private bool[] Select(double[] margins, ObjectiveContext context)
    {
        int b = margins.Length;
        int n = Math.Max(1, (int)Math.Floor(b * (1 - FilterRatio)));
        var keep = new bool[b];
        if (n >= b)
        {
            Array.Fill(keep, true);
            return keep;
        }
        var generator = context.Generator
            ?? throw new ObjectiveException($"objective '{Id}': filter_ratio > 0 samples pairs and needs the run's seeded generator (ObjectiveContext.Generator)");
        // Log-weights shifted by their maximum, so at least one weight is exactly 1 (never all zero).
        var logW = margins.Select(m => MarginStd > 0 ? -0.5 * Math.Pow((m - MarginMean) / MarginStd, 2) : 0.0).ToArray();
        double max = logW.Max();
        using var weights = tensor(logW.Select(l => Math.Exp(l - max)).ToArray());
        using var drawn = multinomial(weights, n, replacement: false, generator: generator);
        foreach (var i in drawn.data<long>()) keep[i] = true;
        return keep;
    }

    /// <inheritdoc />
    public JsonObject SaveState() => new() { ["margin_mean"] = MarginMean, ["margin_std"] = MarginStd };

    /// <inheritdoc />
    public void LoadState(JsonObject state)
    {
        double mean = StateJson.Number(state, Id, "margin_mean");
        double std = StateJson.Number(state, Id, "margin_std");
        if (std < 0) throw new ObjectiveException($"objective '{Id}': saved state 'margin_std' must be non-negative, got {PairInputs.Format(std)}");
        (MarginMean, MarginStd) = (mean, std);
    }
}
