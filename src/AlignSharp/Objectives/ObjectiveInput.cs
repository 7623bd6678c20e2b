namespace AlignSharp.Objectives;

/// <summary>Who provides an extra per-pair input.</summary>
public enum InputSource
{
    /// <summary>A numeric dataset column (one value per record), e.g. ODPO's scores.</summary>
    Dataset,
    /// <summary>Computed by the trainer, e.g. KTO's mismatched-pair log-probs or a reward head's output.</summary>
    Trainer,
}

/// <summary>
/// An extra input an objective reads from <see cref="PairStats.Extras"/>: the key (as in the golden vectors),
/// the dataset column it comes from (for <see cref="InputSource.Dataset"/>), and what it means.
/// </summary>
public sealed record ObjectiveInput(string Key, InputSource Source, string? Column, string Description)
{
    /// <summary>Shape note, e.g. "(B)" or "(B, E)".</summary>
    public string Shape { get; init; } = "(B)";

    /// <summary>
    /// Picks this objective's extras out of a batch's numeric columns, accepting the column name (e.g.
    /// <c>chosen_score</c>) or the key itself (<c>chosen_scores</c>); returns them by key.
    /// </summary>
    public static Dictionary<string, TorchSharp.torch.Tensor> Gather(
        IEnumerable<ObjectiveInput> inputs, IReadOnlyDictionary<string, TorchSharp.torch.Tensor> columns)
    {
        var result = new Dictionary<string, TorchSharp.torch.Tensor>();
        foreach (var input in inputs)
        {
            if (columns.TryGetValue(input.Key, out var t) || (input.Column is not null && columns.TryGetValue(input.Column, out t)))
                result[input.Key] = t;
        }
        return result;
    }
}
