using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Pairwise EXO, efficient exact optimization (Ji et al. 2024, https://arxiv.org/abs/2402.00856, Eq. 16; TRL "exo_pair"):
/// with z = βh, <c>loss = σ(z)(log σ(z) − log(1−ε)) + σ(−z)(log σ(−z) − log ε)</c> = KL(Bern(σ(z)) ‖ Bern(1−ε)).
/// Intuition: match the model's implied preference probability to a (slightly smoothed) target instead of
/// maximising its likelihood; this is mode-seeking, like the RLHF objective it approximates.
/// </summary>
public sealed class Exo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter EpsParam = new("label_smoothing", 1e-3,
        "target smoothing ε (> 0; the target preference probability is 1 − ε)", new Interval(0, 1, true, true));

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "exo", "EXO: efficient exact optimization (pairwise)", "https://arxiv.org/abs/2402.00856",
        "s(z)(ls(z) - log(1-e)) + s(-z)(ls(-z) - log e), z = beta h",
        [BetaParam, EpsParam],
        p => new Exo(p.Get(BetaParam), p.Get(EpsParam)));

    /// <summary>Creates EXO.</summary>
    public Exo(double beta, double labelSmoothing)
    {
        Beta = BetaParam.Check(Id, beta);
        LabelSmoothing = EpsParam.Check(Id, labelSmoothing);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "exo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var z = Beta * (cw - cl);
        double e = LabelSmoothing;
        var losses = sigmoid(z) * (F.logsigmoid(z) - Math.Log(1 - e)) + sigmoid(-z) * (F.logsigmoid(-z) - Math.Log(e));
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
