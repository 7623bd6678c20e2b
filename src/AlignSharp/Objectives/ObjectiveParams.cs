using System.Globalization;

namespace AlignSharp.Objectives;

/// <summary>
/// Parameters given to one objective (from a config file, the CLI or a golden vector), with typed getters that
/// take the default from the objective's declaration. Keys never read are reported as unknown.
/// </summary>
public sealed class ObjectiveParams
{
    private readonly Dictionary<string, string> values;
    private readonly HashSet<string> read = [];

    /// <summary>Wraps raw string values (numbers in invariant culture).</summary>
    public ObjectiveParams(IReadOnlyDictionary<string, string>? values = null) =>
        this.values = values is null ? [] : new Dictionary<string, string>(values);

    /// <summary>Keys given but never read by the objective.</summary>
    public IEnumerable<string> Unread => values.Keys.Where(k => !read.Contains(k));

    /// <summary>The raw values given (for echoing a configuration back).</summary>
    public IReadOnlyDictionary<string, string> Values => values;

    /// <summary>The objective these parameters are read for, named in error messages (set by the catalog).</summary>
    internal string? Objective { get; set; }

    /// <summary>True when the key was given.</summary>
    public bool Has(string key) => values.ContainsKey(key);

    /// <summary>A number, or the default.</summary>
    public double Double(string key, double defaultValue)
    {
        read.Add(key);
        if (!values.TryGetValue(key, out var s)) return defaultValue;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw Error($"parameter '{key}' must be a number, got '{s}'");
    }

    /// <summary>A boolean, or the default.</summary>
    public bool Bool(string key, bool defaultValue)
    {
        read.Add(key);
        if (!values.TryGetValue(key, out var s)) return defaultValue;
        return bool.TryParse(s, out var v) ? v : throw Error($"parameter '{key}' must be true or false, got '{s}'");
    }

    /// <summary>One of the allowed strings, or the default.</summary>
    public string Choice(string key, string defaultValue, params string[] allowed)
    {
        read.Add(key);
        if (!values.TryGetValue(key, out var s)) return defaultValue;
        return allowed.Contains(s) ? s : throw Error($"parameter '{key}' must be one of {string.Join(", ", allowed)}, got '{s}'");
    }

    /// <summary>
    /// True only for the instance a catalog entry creates to read an objective's traits: required parameters then
    /// take their placeholder default instead of failing.
    /// </summary>
    internal bool Probe { get; init; }

    /// <summary>
    /// The declared number parameter (its default when absent), checked against its accepted interval; a required
    /// parameter that is absent is an error naming the objective and the parameter.
    /// </summary>
    public double Get(NumberParameter p)
    {
        if (p.Required && !Probe && !Has(p.Name))
            throw Error($"parameter '{p.Name}' is required ({p.Description}); set it (e.g. {p.Name}: {NumberParameter.Format(p.Default)})");
        return p.Check(Objective ?? "?", Double(p.Name, p.Default));
    }

    /// <summary>The declared flag (its default when absent).</summary>
    public bool Get(FlagParameter p) => Bool(p.Name, p.Default);

    /// <summary>The declared choice (its default when absent).</summary>
    public string Get(ChoiceParameter p) => Choice(p.Name, p.Default, [.. p.Choices]);

    private ObjectiveException Error(string message) =>
        new(Objective is null ? message : $"objective '{Objective}': {message}");
}
