namespace AlignSharp.Objectives;

/// <summary>
/// Preferred-FT, the DPO paper's supervised baseline (Rafailov et al. 2023, https://arxiv.org/abs/2305.18290, §6):
/// fine-tuning on the chosen completions only, with transformers' causal-LM loss, the token mean over the batch:
/// <c>loss = −Σ_i pw_i / Σ_i nw_i</c>, returned per pair as <c>−pw_i · B / Σ nw</c> so the trainer's mean is exactly it.
/// Intuition: imitate the preferred responses; the rejected ones are never read (unlike <c>sft</c>, a per-pair
/// length-averaged term meant for combinations, this weights every chosen token equally).
/// </summary>
public sealed class PreferredFt : IPreferenceObjective
{
    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "preferred_ft", "Preferred-FT: supervised fine-tuning on the chosen completions (DPO paper baseline)",
        "https://arxiv.org/abs/2305.18290",
        "-pw B / sum(nw) (batch token mean of the chosen NLL)",
        [],
        _ => new PreferredFt())
    {
        Data = "any pairs; only the chosen completion is trained on",
    };

    /// <inheritdoc />
    public string Id => "preferred_ft";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (aw, al) = PairInputs.Averages(s, Id);
        var losses = -s.PolicyChosen * (s.Count / s.ChosenLengths.sum()); // (B); mean = -sum(pw) / sum(nw)
        return new ObjectiveOutput(losses, aw.detach(), al.detach());
    }
}
