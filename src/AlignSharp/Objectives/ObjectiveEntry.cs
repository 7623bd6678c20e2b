namespace AlignSharp.Objectives;

/// <summary>
/// One catalog entry: the id exactly as in the canonical table, a one-line description, the paper, the per-pair
/// loss as written in the table, the declared parameters (names, defaults, descriptions, accepted values), the
/// extra inputs it reads, and the factory. Reference need and reduction are read from a default instance, so
/// they are declared once, in the objective class.
/// </summary>
public sealed record ObjectiveEntry(
    string Id,
    string Description,
    string Paper,
    string Loss,
    IReadOnlyList<ObjectiveParameter> Parameters,
    Func<ObjectiveParams, IPreferenceObjective> Factory)
{
    private readonly Lazy<IPreferenceObjective> defaults = new(() => Factory(new ObjectiveParams { Objective = Id, Probe = true }));

    /// <summary>The data it trains on (record format and what the trainer derives), for docs; empty = any pairs.</summary>
    public string Data { get; init; } = "";

    /// <summary>Extra inputs the objective requests (with default parameters).</summary>
    public IReadOnlyList<InputRequest> Inputs => defaults.Value.Inputs;

    /// <summary>Whether the trainer must provide reference log-probs (with default parameters).</summary>
    public bool NeedsReference => defaults.Value.NeedsReference;

    /// <summary>Summed or length-averaged log-probs (with default parameters).</summary>
    public LogProbReduction Reduction => defaults.Value.Reduction;

    /// <summary>True when the objective keeps state across batches (saved in checkpoints).</summary>
    public bool Stateful => defaults.Value is IStatefulObjective;

    /// <summary>True when the objective trains on unpaired examples (it also accepts pairs, split).</summary>
    public bool Unpaired => defaults.Value is IUnpairedObjective;

    /// <summary>Creates the objective; bad values and unknown parameters are errors naming the objective and key.</summary>
    public IPreferenceObjective Create(ObjectiveParams parameters)
    {
        parameters.Objective = Id;
        var objective = Factory(parameters);
        var unknown = parameters.Unread.Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ObjectiveException(
                $"objective '{Id}' has no parameter '{unknown[0]}' (known: {string.Join(", ", Parameters.Select(p => p.Name))})");
        return objective;
    }
}
