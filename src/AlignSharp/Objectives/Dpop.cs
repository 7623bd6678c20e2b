using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// DPO-Positive (Pal et al. 2024, Smaug, https://arxiv.org/abs/2402.13228; corrected bracketing):
/// <c>loss = −log σ(β (h − λ max(0, rw − pw)))</c>.
/// Intuition: DPO can raise the margin while lowering the chosen likelihood; the penalty, inside the sigmoid,
/// fires whenever the chosen log-prob falls below the reference's.
/// </summary>
public sealed class Dpop : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter LambdaParam = new("lambda", 50.0, "penalty λ on the chosen log-prob falling below the reference (0 is DPO)", Interval.NonNegative);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dpop", "DPO-Positive (Smaug)", "https://arxiv.org/abs/2402.13228",
        "-ls(beta (h - lambda max(0, rw - pw)))",
        [BetaParam, LambdaParam],
        p => new Dpop(p.Get(BetaParam), p.Get(LambdaParam)));

    /// <summary>Creates DPOP.</summary>
    public Dpop(double beta, double lambda)
    {
        Beta = BetaParam.Check(Id, beta);
        Lambda = LambdaParam.Check(Id, lambda);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Penalty λ.</summary>
    public double Lambda { get; }

    /// <inheritdoc />
    public string Id => "dpop";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var penalty = (-cw).relu(); // max(0, rw − pw)
        var losses = -F.logsigmoid(Beta * (cw - cl - Lambda * penalty));
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
