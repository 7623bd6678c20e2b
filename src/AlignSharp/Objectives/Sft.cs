namespace AlignSharp.Objectives;

/// <summary>
/// Supervised fine-tuning term: the per-token negative log-likelihood of the chosen completion,
/// <c>loss = −pw/nw</c>. Not a preference objective on its own; meant as a term of a
/// <see cref="CombinedObjective"/> (e.g. dpo 1.0 + sft 0.1) to keep the chosen likelihood from falling.
/// </summary>
public sealed class Sft : IPreferenceObjective
{
    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sft", "SFT / NLL on the chosen completion (a term for combinations)", "",
        "-pw/nw",
        [],
        _ => new Sft());

    /// <inheritdoc />
    public string Id => "sft";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (aw, al) = PairInputs.Averages(s, Id);
        return new ObjectiveOutput(-aw, aw.detach(), al.detach());
    }
}
