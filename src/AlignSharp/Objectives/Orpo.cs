using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Odds Ratio Preference Optimization (Hong et al. 2024, https://arxiv.org/abs/2403.07691):
/// <c>lo(a) = a − log(1 − exp(a))</c> (computed as a − log(−expm1(a))),
/// <c>loss = −aw − λ log σ(lo(aw) − lo(al))</c>, aw = pw/nw, al = pl/nl (reference-free).
/// Intuition: SFT on the chosen response plus a small odds-ratio term that penalises the rejected style, in one
/// stage and without a reference.
/// A per-token average of exactly 0 (probability 1) would make the odds infinite; averages are capped at
/// −1e-6 inside the odds term only.
/// </summary>
public sealed class Orpo : IPreferenceObjective
{
    /// <summary>Largest per-token average log-prob used in the odds (probability 1 has infinite odds).</summary>
    internal const double MaxAverageLogProb = -1e-6;

    private static readonly NumberParameter LambdaParam = new("lambda", 0.1, "weight λ of the odds-ratio term", Interval.NonNegative);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "orpo", "Odds Ratio Preference Optimization (reference-free)", "https://arxiv.org/abs/2403.07691",
        "lo(a) = a - log(1 - exp(a)); -aw - lambda ls(lo(aw) - lo(al))",
        [LambdaParam],
        p => new Orpo(p.Get(LambdaParam)));

    /// <summary>Creates ORPO.</summary>
    public Orpo(double lambda) => Lambda = LambdaParam.Check(Id, lambda);

    /// <summary>Odds-ratio weight λ.</summary>
    public double Lambda { get; }

    /// <inheritdoc />
    public string Id => "orpo";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (aw, al) = PairInputs.Averages(s, Id);
        var logOddsRatio = LogOdds(aw) - LogOdds(al);
        var losses = -aw - Lambda * F.logsigmoid(logOddsRatio);
        return new ObjectiveOutput(losses, (Lambda * aw).detach(), (Lambda * al).detach())
        {
            Metrics = new Dictionary<string, Tensor> { ["log_odds_ratio"] = logOddsRatio.detach().mean() },
        };
    }

    private static Tensor LogOdds(Tensor a)
    {
        var capped = a.clamp_max(MaxAverageLogProb);
        return capped - StableMath.Log1mExp(capped);
    }
}
