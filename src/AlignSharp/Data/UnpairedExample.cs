namespace AlignSharp.Data;

/// <summary>
/// One unpaired example for KTO-style objectives: a prompt, one completion and whether it is desirable
/// (<see cref="Label"/> true) or not. Numeric extras are carried as in <see cref="PreferenceExample"/>.
/// </summary>
public sealed record UnpairedExample(string Prompt, string Completion, bool Label, SourceLocation Source)
{
    /// <summary>Extra numeric columns by name.</summary>
    public IReadOnlyDictionary<string, double> Extras { get; init; } = new Dictionary<string, double>();
}

/// <summary>Turns paired data into unpaired data (TRL's unpair_preference_dataset): each pair gives a desirable and an undesirable example.</summary>
public static class Unpairing
{
    /// <summary>The chosen completion labelled desirable, then the rejected one labelled undesirable.</summary>
    public static IEnumerable<UnpairedExample> Split(PreferenceExample pair)
    {
        yield return new UnpairedExample(pair.Prompt, pair.Chosen, true, pair.Source) { Extras = pair.Extras };
        yield return new UnpairedExample(pair.Prompt, pair.Rejected, false, pair.Source) { Extras = pair.Extras };
    }

    /// <summary>Splits every pair, in order.</summary>
    public static IReadOnlyList<UnpairedExample> Split(IEnumerable<PreferenceExample> pairs) => pairs.SelectMany(Split).ToList();
}
