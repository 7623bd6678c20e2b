using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// APO-zero, anchored preference optimization (D'Oosterlinck et al. 2024, https://arxiv.org/abs/2408.06266):
/// <c>loss = (1 − σ(β cw)) + σ(β cl)</c>.
/// Intuition: when the chosen responses are better than the model's own, push the chosen likelihood up and
/// the rejected likelihood down, each anchored to the reference.
/// </summary>
public sealed class ApoZero : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "apo_zero", "Anchored Preference Optimization, zero variant", "https://arxiv.org/abs/2408.06266",
        "(1 - s(beta cw)) + s(beta cl)",
        [BetaParam],
        p => new ApoZero(p.Get(BetaParam)));

    /// <summary>Creates APO-zero.</summary>
    public ApoZero(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "apo_zero";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var (zw, zl) = (Beta * cw, Beta * cl);
        var losses = sigmoid(-zw) + sigmoid(zl); // 1 − σ(x) = σ(−x)
        return new ObjectiveOutput(losses, zw.detach(), zl.detach());
    }
}
