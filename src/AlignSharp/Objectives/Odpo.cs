using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// DPO with an offset (Amini et al. 2024, https://arxiv.org/abs/2402.10571):
/// <c>loss = −log σ(βh − Δ)</c>, Δ = α log(sw − sl) (difference) or α log(sw/sl) (ratio), from per-response
/// scores sw &gt; sl (both &gt; 0 in ratio mode).
/// Intuition: pairs whose responses differ more in quality must be separated by a larger margin.
/// </summary>
public sealed class Odpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter AlphaParam = new("alpha", 1.0, "offset scale α (0 is DPO)", Interval.Any);
    private static readonly ChoiceParameter ModeParam = new("offset_mode", "difference",
        "Δ = α log(sw − sl) (difference) or α log(sw/sl) (ratio)", ["difference", "ratio"]);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "odpo", "DPO with an offset from response scores", "https://arxiv.org/abs/2402.10571",
        "-ls(beta h - D), D = alpha log(sw - sl) or alpha log(sw/sl); needs sw > sl (> 0 for ratio)",
        [BetaParam, AlphaParam, ModeParam],
        p => new Odpo(p.Get(BetaParam), p.Get(AlphaParam), p.Get(ModeParam) == "ratio"));

    /// <summary>Scalar quality score of the chosen response (sw), dataset column <c>chosen_score</c>.</summary>
    public static DatasetColumn ChosenScores { get; } =
        new("chosen_scores", "chosen_score", "scalar quality score of the chosen response (sw)");

    /// <summary>Scalar quality score of the rejected response (sl), dataset column <c>rejected_score</c>.</summary>
    public static DatasetColumn RejectedScores { get; } =
        new("rejected_scores", "rejected_score", "scalar quality score of the rejected response (sl < sw)");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [ChosenScores, RejectedScores];

    /// <summary>Creates ODPO.</summary>
    public Odpo(double beta, double alpha, bool ratio)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
        Ratio = ratio;
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Offset scale α.</summary>
    public double Alpha { get; }

    /// <summary>True for the ratio offset, false for the difference.</summary>
    public bool Ratio { get; }

    /// <inheritdoc />
    public string Id => "odpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var sw = PairInputs.Vector(s, Id, ChosenScores);
        var sl = PairInputs.Vector(s, Id, RejectedScores);
        var w = PairInputs.Values(sw);
        var l = PairInputs.Values(sl);
        for (int i = 0; i < w.Length; i++)
        {
            if (Ratio && (w[i] <= 0 || l[i] <= 0))
                throw new ObjectiveException(
                    $"objective '{Id}': ratio offset needs positive scores, but at pair {i} chosen_scores={PairInputs.Format(w[i])}, rejected_scores={PairInputs.Format(l[i])}");
            if (w[i] <= l[i])
                throw new ObjectiveException(
                    $"objective '{Id}': input 'chosen_scores' must exceed 'rejected_scores', but at pair {i} {PairInputs.Format(w[i])} <= {PairInputs.Format(l[i])}");
        }
        var offset = Alpha * (Ratio ? (sw / sl).log() : (sw - sl).log());
        var losses = -F.logsigmoid(Beta * (cw - cl) - offset.to(cw.dtype));
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
