namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// Segment-level DPO (Kong et al. 2025, https://arxiv.org/abs/2501.01821): DPO over the agent tokens of the key
/// segment only, counted tokens <c>m[t]·seg[t]</c>; seg marks the agent turns e..e+k starting at the first
/// erroneous turn e (history turns before e and turns after the segment are 0).
/// Intuition: in a long dialogue only the turns where the two versions part ways carry the preference; the shared
/// history cancels and later turns are noise.
/// </summary>
public sealed class Sdpo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sdpo", "Segment-level DPO: DPO over a dialogue's key segment", "https://arxiv.org/abs/2501.01821",
        "DPO on S(v, m*seg); seg = agent tokens of the key segment (turns e..e+k)",
        [BetaParam],
        p => new Sdpo(p.Get(BetaParam)))
    {
        Data = "`segment` records (history, chosen/rejected turns, key segment [start, end]); its agent tokens are "
            + "counted",
    };

    /// <summary>1 on the agent tokens of the key segment, (B, T) per side.</summary>
    public static CompletionAnnotation SegmentMask { get; } =
        new("segment_mask", 2, "1 on the agent tokens of the dialogue's key segment (turns e..e+k)");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [TokenLevelInputs.PairTokens, SegmentMask];

    /// <summary>Creates SDPO.</summary>
    public Sdpo(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "sdpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (w, l) = TokenInputs.Sides(s, Id);
        var seg = s.Get(SegmentMask, Id);
        var segW = TokenInputs.Mask(Id, SegmentMask.ChosenKey, seg.Chosen, 2, w.Mask);
        var segL = TokenInputs.Mask(Id, SegmentMask.RejectedKey, seg.Rejected, 2, l.Mask);
        return TokenInputs.MaskedDpo(Beta, w, l, w.Mask & segW, l.Mask & segL);
    }
}
