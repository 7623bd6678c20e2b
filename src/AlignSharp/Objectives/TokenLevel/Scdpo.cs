using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Step-Controlled DPO (Lu et al. 2024, https://arxiv.org/abs/2407.00782): DPO whose counted tokens are
/// <c>k[t] = m[t]·(t ≥ P)</c>, P = the token count of the shared correct prefix a_front at the start of both
/// completions (P = 0 for naive whole-solution pairs; both kinds are mixed in one data set).
/// Intuition: a correct start followed by a regenerated wrong continuation teaches where a solution goes wrong;
/// the shared prefix carries no preference and is not scored.
/// </summary>
public sealed class Scdpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "scdpo", "Step-controlled DPO: DPO after a shared correct prefix", "https://arxiv.org/abs/2407.00782",
        "DPO on S(v, m*(t >= P)); P = shared-prefix token count (0 for naive pairs)",
        [BetaParam],
        p => new Scdpo(p.Get(BetaParam)))
    {
        Data = "`steps` records (prompt, prefix steps, chosen/rejected suffix): the shared prefix is appended to the "
            + "prompt, so the completions are the suffixes and P = 0 in training (the same loss: identical prefix "
            + "log-probs cancel); P > 0 only where inputs keep the prefix in the completion (vector files)",
    };

    /// <summary>Tokens of the shared correct prefix at the start of each completion (P), (B) per side.</summary>
    public static CompletionAnnotation PrefixLengths { get; } =
        new("prefix_lengths", 1, "tokens of the shared correct prefix at the start of the completion (P)");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [TokenLevelInputs.PairTokens, PrefixLengths];

    /// <summary>Creates SCDPO.</summary>
    public Scdpo(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "scdpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (w, l) = TokenInputs.Sides(s, Id);
        var p = s.Get(PrefixLengths, Id);
        return TokenInputs.MaskedDpo(Beta, w, l,
            AfterPrefix(p.Chosen, w, PrefixLengths.ChosenKey), AfterPrefix(p.Rejected, l, PrefixLengths.RejectedKey));
    }

    private Tensor AfterPrefix(Tensor lengths, TokenSide side, string key)
    {
        var p = TokenInputs.Integers(Id, key, lengths, 1, side.Mask, min: 0); // (B)
        return side.Mask & TokenInputs.Positions(side.Mask).ge(p.unsqueeze(1)); // (B) -> (B, 1) vs (B, T)
    }
}
