using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Sr-DPO, quality-aware self-refinement (https://arxiv.org/abs/2405.21040, Algorithm 1): <c>loss = −log σ(βh −
/// λΔ)</c>, Δ the stop-gradient DPO margin
/// of the same pair under a refinement prompt (<see cref="SelfRefinement"/>).
/// Intuition: the policy itself, told to answer as well as it can, says how much better the chosen response is;
/// pairs it already separates well ask for less margin.
/// </summary>
public sealed class SrDpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter LambdaParam = new("lambda", 0.5,
        "weight λ of the self-refinement margin Δ (paper grid 0.1, 0.3, 0.5, 1; no single default)", Interval.Any)
    {
        Required = true,
    };

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sr_dpo", "Sr-DPO: DPO with a self-refinement margin", "https://arxiv.org/abs/2405.21040",
        "-ls(beta h - lambda D), D = beta [(pw'-rw') - (pl'-rl')] (stop-gradient; primes: given refinement prompt + x)",
        [BetaParam, LambdaParam],
        p => new SrDpo(p.Get(BetaParam), p.Get(LambdaParam)))
    {
        Data = "`refinement` records (prompt, chosen, rejected, optional refinement prompt); a second pass on prompt "
            + "p + x",
    };

    /// <summary>Creates Sr-DPO.</summary>
    public SrDpo(double beta, double lambda)
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
    public string Id => "sr_dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var delta = SelfRefinement.Delta(s, Id, Beta).to(cw.dtype);
        var losses = -F.logsigmoid(Beta * (cw - cl) - Lambda * delta);
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
