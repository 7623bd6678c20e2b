using System.Reflection;
using AlignSharp.Training;

namespace AlignSharp.Config;

/// <summary>One key of a run config: its dotted name, value type, default and documentation.</summary>
/// <param name="Key">Dotted name as written in YAML and <c>--set</c>: <c>training.batch_size</c>, <c>output_dir</c>.</param>
/// <param name="Property">The record property it binds to.</param>
/// <param name="Default">The record's default value.</param>
/// <param name="Setting">Meaning, TRL name and range.</param>
public sealed record ConfigKey(string Key, PropertyInfo Property, object? Default, SettingAttribute Setting)
{
    /// <summary>The section (<c>training</c>), or "" for a top-level key.</summary>
    public string Section => Key.Contains('.') ? Key[..Key.IndexOf('.')] : "";

    /// <summary>The name within its section (<c>batch_size</c>).</summary>
    public string Name => Key[(Key.LastIndexOf('.') + 1)..];
}

/// <summary>
/// The keys of a run config, read from the section records (their <see cref="SettingAttribute"/>s): the one source of
/// docs/config.md, of range checks and of the hints for TRL's argument names and misspelt keys.
/// </summary>
public static class ConfigSchema
{
    /// <summary>Sections bound from records, in the order docs and <c>--print-config</c> list them ("" = top level).</summary>
    public static IReadOnlyList<(string Name, Type Record)> Sections { get; } =
    [
        ("", typeof(TopLevelSection)), ("model", typeof(ModelSection)), ("data", typeof(DataSection)),
        ("adapter", typeof(AdapterSection)), ("training", typeof(TrainingOptions)),
    ];

    /// <summary>Every key bound from a record (the objective section is the catalog's: docs/objectives.md).</summary>
    public static IReadOnlyList<ConfigKey> Keys { get; } = [.. Sections.SelectMany(s => KeysOf(s.Name, s.Record))];

    /// <summary>
    /// TRL names of settings that live in the objective section rather than a record, with where they go here.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ObjectiveTrlNames { get; } = new Dictionary<string, string>
    {
        ["beta"] = "objective.beta",
        ["loss_type"] = "objective.name",
        ["label_smoothing"] = "objective.label_smoothing",
        ["rpo_alpha"] = "objectives: [{name: dpo}, {name: sft, weight: RPO_ALPHA}]",
        ["loss_weights"] = "objectives: [{name: ..., weight: ...}, ...]",
    };

    /// <summary>The bindable properties of <paramref name="record"/> (public, settable).</summary>
    public static IEnumerable<PropertyInfo> Bindable(Type record) =>
        record.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    /// <summary>The key named <paramref name="key"/>, or null.</summary>
    public static ConfigKey? Find(string key) => Keys.FirstOrDefault(k => k.Key == key);

    /// <summary>
    /// A hint for an unknown dotted key, as the text inside "(...)" after the error, or null: TRL's name for one of
    /// our keys, one of our keys in another section, or a near spelling (edit distance) of a key.
    /// </summary>
    public static string? Suggest(string key)
    {
        string section = key.Contains('.') ? key[..key.LastIndexOf('.')] : "";
        string name = key[(key.LastIndexOf('.') + 1)..];
        if (Keys.FirstOrDefault(k => k.Setting.TrlNames.Contains(name)) is { } trl)
            return trl.Name == name ? $"did you mean '{trl.Key}'?" : $"did you mean '{trl.Key}'? it is TRL's {name}";
        if (ObjectiveTrlNames.TryGetValue(name, out var objective))
            return $"did you mean '{objective}'? it is TRL's {name}; objectives and their parameters: docs/objectives.md";
        if (Keys.FirstOrDefault(k => k.Name == name) is { } elsewhere) return $"did you mean '{elsewhere.Key}'?";
        var near = Keys.Where(k => k.Section == section).Select(k => (k.Name, D: Distance(k.Name, name)))
            .Where(x => x.D <= 3).OrderBy(x => x.D).FirstOrDefault();
        if (near.Name is not null) return $"did you mean '{near.Name}'?";
        var trlNear = Keys.SelectMany(k => k.Setting.TrlNames.Select(t => (k.Key, Trl: t, D: Distance(t, name))))
            .Where(x => x.D <= 2).OrderBy(x => x.D).FirstOrDefault();
        if (trlNear.Key is not null) return $"did you mean '{trlNear.Key}'? it is TRL's {trlNear.Trl}";
        var anyNear = Keys.Select(k => (k.Key, D: Distance(k.Name, name))).Where(x => x.D <= 2).OrderBy(x => x.D)
            .FirstOrDefault();
        return anyNear.Key is not null ? $"did you mean '{anyNear.Key}'?" : null;
    }

    /// <summary>Levenshtein distance: single-character insertions, deletions and substitutions.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1),
                    d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    private static IEnumerable<ConfigKey> KeysOf(string section, Type record)
    {
        var defaults = Activator.CreateInstance(record, nonPublic: true)!;
        foreach (var p in Bindable(record))
        {
            string name = ConfigBinder.SnakeCase(p.Name);
            var setting = p.GetCustomAttribute<SettingAttribute>()
                ?? throw new InvalidOperationException(
                    $"{record.Name}.{p.Name} is a config key without a [Setting] (its meaning for docs/config.md)");
            yield return new ConfigKey(section.Length == 0 ? name : $"{section}.{name}", p, p.GetValue(defaults), setting);
        }
    }
}
