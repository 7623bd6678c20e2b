namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Sr-IPO (https://arxiv.org/abs/2405.21040, Algorithm 2):
/// <c>loss = (h − λΔ − 1/(2β))²</c>, Δ the stop-gradient self-refinement margin (<see cref="SelfRefinement"/>);
/// summed log-probs (λ = 0 is IPO with length_normalized = false).
/// Intuition: IPO's fixed target margin, lowered for pairs the refined policy already separates.
/// </summary>
public sealed class SrIpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter LambdaParam = new("lambda", 0.5,
        "weight λ of the self-refinement margin Δ (paper grid 0.1, 0.3, 0.5, 1; no single default)", Interval.Any)
    {
        Required = true,
    };

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sr_ipo", "Sr-IPO: IPO with a self-refinement margin", "https://arxiv.org/abs/2405.21040",
        "(h - lambda D - 1/(2 beta))^2, D as sr_dpo (stop-gradient)",
        [BetaParam, LambdaParam],
        p => new SrIpo(p.Get(BetaParam), p.Get(LambdaParam)))
    {
        Data = "`refinement` records, as sr_dpo",
    };

    /// <summary>Creates Sr-IPO.</summary>
    public SrIpo(double beta, double lambda)
    {
        Beta = BetaParam.Check(Id, beta);
        Lambda = LambdaParam.Check(Id, lambda);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>λ.</summary>
    public double Lambda { get; }

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [SelfRefinement.Request];

    /// <inheritdoc />
    public string Id => "sr_ipo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var delta = SelfRefinement.Delta(s, Id, Beta).to(cw.dtype);
        var losses = (cw - cl - Lambda * delta - 1.0 / (2 * Beta)).square();
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
