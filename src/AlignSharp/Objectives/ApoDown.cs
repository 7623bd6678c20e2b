using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// APO-down, anchored preference optimization (D'Oosterlinck et al. 2024, https://arxiv.org/abs/2408.06266):
/// <c>loss = σ(β cw) + (1 − σ(βh))</c>.
/// Intuition: when the model already beats the chosen responses, lower both likelihoods but the rejected one
/// more, keeping the margin growing.
/// </summary>
public sealed class ApoDown : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "apo_down", "Anchored Preference Optimization, down variant", "https://arxiv.org/abs/2408.06266",
        "s(beta cw) + (1 - s(beta h))",
        [BetaParam],
        p => new ApoDown(p.Get(BetaParam)));

    /// <summary>Creates APO-down.</summary>
    public ApoDown(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "apo_down";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var losses = sigmoid(Beta * cw) + sigmoid(-Beta * (cw - cl)); // 1 − σ(x) = σ(−x)
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
