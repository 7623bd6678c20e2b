namespace AlignSharp.Objectives;

/// <summary>
/// Hard-label SPPO (Wu et al. 2024, https://arxiv.org/abs/2405.00675; TRL "sppo_hard"):
/// <c>loss = (cw − 1/(2β))² + (cl + 1/(2β))²</c>, the reference being the previous iteration's policy.
/// Intuition: SPPO with win probabilities 1 and 0: regress the chosen log-ratio to +1/(2β) and the rejected
/// one to −1/(2β).
/// </summary>
public sealed class SppoHard : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sppo_hard", "Self-Play Preference Optimization, hard labels", "https://arxiv.org/abs/2405.00675",
        "(cw - 0.5/beta)^2 + (cl + 0.5/beta)^2",
        [BetaParam],
        p => new SppoHard(p.Get(BetaParam)));

    /// <summary>Creates hard SPPO.</summary>
    public SppoHard(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β (η = 1/β).</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "sppo_hard";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        double target = 0.5 / Beta;
        var losses = (cw - target).square() + (cl + target).square();
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
