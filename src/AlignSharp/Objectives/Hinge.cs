namespace AlignSharp.Objectives;

/// <summary>
/// Hinge-norm loss of RSO (Liu et al. 2023, Statistical Rejection Sampling, https://arxiv.org/abs/2309.06657; TRL "hinge";
/// not SLiC-HF's calibration loss):
/// <c>loss = max(0, 1 − βh)</c>.
/// Intuition: a margin loss: pairs whose scaled log-ratio margin already exceeds 1 contribute nothing.
/// </summary>
public sealed class Hinge : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = new("beta", 0.1, "β: the margin required is 1/β in h", Interval.Positive);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "hinge", "RSO hinge-norm loss on the DPO margin", "https://arxiv.org/abs/2309.06657",
        "relu(1 - beta h)",
        [BetaParam],
        p => new Hinge(p.Get(BetaParam)));

    /// <summary>Creates the hinge objective.</summary>
    public Hinge(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "hinge";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var losses = (1.0 - Beta * (cw - cl)).relu();
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
