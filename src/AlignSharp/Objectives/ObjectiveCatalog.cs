namespace AlignSharp.Objectives;

/// <summary>One catalog entry: id, a one-line description, and the factory reading its parameters.</summary>
public sealed record ObjectiveEntry(string Id, string Description, Func<ObjectiveParams, IPreferenceObjective> Create);

/// <summary>The only map from objective ids to classes; the CLI and docs list names from here.</summary>
public static class ObjectiveCatalog
{
    private static readonly ObjectiveEntry[] Entries =
    [
        new("dpo", "Direct Preference Optimization", p => new Dpo(p.Double("beta", 0.1))),
    ];

    /// <summary>Every registered objective.</summary>
    public static IReadOnlyList<ObjectiveEntry> All => Entries;

    /// <summary>Creates the objective <paramref name="id"/>; unknown ids and unknown parameters are errors naming them.</summary>
    public static IPreferenceObjective Create(string id, ObjectiveParams parameters)
    {
        var entry = Entries.FirstOrDefault(e => e.Id == id)
            ?? throw new ObjectiveException($"unknown objective '{id}' (known: {string.Join(", ", Entries.Select(e => e.Id))})");
        var objective = entry.Create(parameters);
        var unknown = parameters.Unread.ToList();
        if (unknown.Count > 0) throw new ObjectiveException($"objective '{id}' has no parameter '{unknown[0]}'");
        return objective;
    }
}
