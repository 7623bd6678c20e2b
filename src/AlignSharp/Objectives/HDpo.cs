using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// H-DPO, entropy-controllable DPO (Omura et al. 2024, https://arxiv.org/abs/2411.07595):
/// <c>loss = −log σ(β [(α pw − rw) − (α pl − rl)])</c>, derived from replacing the reverse KL by
/// −α·H(π) + CE(π, π_ref); α = 1 is DPO.
/// Intuition: α &lt; 1 rewards lower entropy (a sharper, more mode-seeking policy).
/// </summary>
public sealed class HDpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter AlphaParam = new("alpha", 0.9, "entropy weight α on the policy log-prob (1 is DPO; < 1 sharpens)", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "h_dpo", "H-DPO: entropy-controllable DPO", "https://arxiv.org/abs/2411.07595",
        "-ls(beta [(alpha pw - rw) - (alpha pl - rl)])",
        [BetaParam, AlphaParam],
        p => new HDpo(p.Get(BetaParam), p.Get(AlphaParam)));

    /// <summary>Creates H-DPO.</summary>
    public HDpo(double beta, double alpha)
    {
        Beta = BetaParam.Check(Id, beta);
        Alpha = AlphaParam.Check(Id, alpha);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Entropy weight α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "h_dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (rw, rl) = s.RequireReference(Id);
        var qw = Alpha * s.PolicyChosen - rw;
        var ql = Alpha * s.PolicyRejected - rl;
        var losses = -F.logsigmoid(Beta * (qw - ql));
        return new ObjectiveOutput(losses, (Beta * qw).detach(), (Beta * ql).detach());
    }
}
