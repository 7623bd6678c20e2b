namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Contrastive Policy Gradient, CoPG (Flet-Berliac et al. 2024, https://arxiv.org/abs/2406.19185):
/// <c>loss = (A − β(ρ1 − ρ2))² / (2β)</c>, <c>ρ = p − r</c> (summed log-ratio), <c>A = R(y) − R(y')</c>, for two
/// samples y, y' of any behaviour policy with scalar rewards; the gradient is CoPG's off-policy update
/// <c>(R^π_β(y) − R^π_β(y')) ∇ log π(y)/π(y')</c>. Slots "chosen"/"rejected" are just the first and second sample:
/// the loss is symmetric. (The paper's constant is unconfirmed; the spec pins this squared form.)
/// Intuition: regress the implicit reward difference onto the observed reward difference, like IPO with real rewards.
/// </summary>
public sealed class Copg : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "copg", "CoPG: contrastive policy gradient on two scored samples", "https://arxiv.org/abs/2406.19185",
        "(A - beta (rho1 - rho2))^2 / (2 beta), rho = p - r, A = R1 - R2 (first minus second sample's reward)",
        [BetaParam],
        p => new Copg(p.Get(BetaParam)))
    {
        Data = "`scored` records (prompt, two samples with their rewards; no preference implied)",
    };

    /// <summary>Reward R(y) of the first sample, dataset column <c>chosen_score</c>.</summary>
    public static DatasetColumn FirstReward { get; } = new("chosen_scores", "chosen_score", "reward R(y) of the first "
        + "sample");

    /// <summary>Reward R(y') of the second sample, dataset column <c>rejected_score</c>.</summary>
    public static DatasetColumn SecondReward { get; } =
        new("rejected_scores", "rejected_score", "reward R(y') of the second sample");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [FirstReward, SecondReward];

    /// <summary>Creates CoPG.</summary>
    public Copg(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "copg";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (rho1, rho2) = PairInputs.LogRatios(s, Id);
        var advantage = PairInputs.Vector(s, Id, FirstReward) - PairInputs.Vector(s, Id, SecondReward);
        var residual = advantage.to(rho1.dtype) - Beta * (rho1 - rho2);
        return new ObjectiveOutput(residual.square() / (2 * Beta), (Beta * rho1).detach(), (Beta * rho2).detach());
    }
}
