using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Unlikelihood, the DPO paper's contrastive baseline (Welleck et al. 2019, https://arxiv.org/abs/1908.04319; as a
/// preference baseline in Rafailov et al. 2023, https://arxiv.org/abs/2305.18290): SFT on the chosen completion plus
/// token-level unlikelihood on the rejected one, each averaged over its tokens:
/// <c>loss = −(1/nw) Σ_t lw[t] − α (1/nl) Σ_t log(1 − e^{ll[t]})</c>, lw, ll the policy's per-token log-probs.
/// Intuition: raise every chosen token's probability and push every rejected token's probability towards 0.
/// </summary>
public sealed class Unlikelihood : IPreferenceObjective
{
    private static readonly NumberParameter AlphaParam = new("alpha", 1.0,
        "weight α of the unlikelihood term on the rejected tokens (0 is SFT on the chosen)", Interval.NonNegative);

    /// <summary>Smallest 1 − p a rejected token counts with: keeps log(1 − p) finite when p rounds to 1.</summary>
    public const double MinComplement = 1e-6;

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "unlikelihood", "Unlikelihood: SFT on chosen + unlikelihood on rejected tokens (DPO paper baseline)",
        "https://arxiv.org/abs/1908.04319",
        "-S(lw, mw)/nw - alpha S(log(1 - e^ll), ml)/nl; 1 - e^ll >= 1e-6",
        [AlphaParam],
        p => new Unlikelihood(p.Get(AlphaParam)))
    {
        Data = "any pairs; per-token policy log-probs, no reference model",
    };

    /// <summary>The policy's per-token log-probs of both completions (no reference).</summary>
    public static CompletionTokenLogProbs Tokens { get; } = new(WithReference: false);

    /// <summary>Creates Unlikelihood with weight <paramref name="alpha"/>.</summary>
    public Unlikelihood(double alpha) => Alpha = AlphaParam.Check(Id, alpha);

    /// <summary>α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Id => "unlikelihood";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [Tokens];

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var t = s.Get(Tokens, Id);
        var (nw, nl) = PairInputs.Lengths(s, Id);
        var nll = -TokenLogProbs.MaskedSum(t.PolicyChosen, t.ChosenMask) / nw; // (B)
        // log(1 - p) with p = e^ll, from log(-expm1(ll)); ll is clamped below 0 so p < 1 - MinComplement.
        // Padded slots are replaced before any arithmetic, so their values never reach a gradient.
        var real = t.RejectedMask.to(ScalarType.Bool); // (B, Tr)
        var ll = where(real, t.PolicyRejected, full_like(t.PolicyRejected, -1.0))
            .clamp_max(Math.Log(1 - MinComplement)); // (B, Tr)
        var unlikely = -TokenLogProbs.MaskedSum((-ll.expm1()).log(), t.RejectedMask) / nl; // (B)
        var losses = nll + Alpha * unlikely;
        var (aw, al) = PairInputs.Averages(s, Id);
        return new ObjectiveOutput(losses, aw.detach(), al.detach());
    }
}
