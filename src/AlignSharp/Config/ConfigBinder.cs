using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace AlignSharp.Config;

/// <summary>
/// Binds a YAML mapping onto an immutable record: keys are the snake_case names of its init properties,
/// defaults are the record's own. Unknown keys, bad values and numbers outside a key's
/// <see cref="SettingAttribute"/> range are errors naming the place and the key.
/// </summary>
public static class ConfigBinder
{
    /// <summary>Binds <paramref name="node"/> (or defaults when null) to a new <typeparamref name="T"/>.</summary>
    /// <param name="tree">The parsed config (for places in errors).</param>
    /// <param name="node">The section's mapping, or null for the defaults.</param>
    /// <param name="section">The section's dotted name, for errors.</param>
    /// <param name="suggest">
    /// The hint for an unknown dotted key (e.g. <see cref="ConfigSchema.Suggest"/>); null: a near name in the section.
    /// </param>
    public static T Bind<T>(ConfigTree tree, YamlMappingNode? node, string section, Func<string, string?>? suggest = null)
        where T : new() =>
        (T)Bind(typeof(T), tree, node, section, suggest);

    private static object Bind(Type type, ConfigTree tree, YamlMappingNode? node, string section,
        Func<string, string?>? suggest)
    {
        var result = Activator.CreateInstance(type, nonPublic: true)!;
        if (node is null) return result;
        var props = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite)
            .ToDictionary(p => SnakeCase(p.Name), p => p);
        foreach (var (k, v) in node.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            string full = section.Length == 0 ? key : $"{section}.{key}";
            if (!props.TryGetValue(key, out var prop))
            {
                string? near = props.Keys.OrderBy(p => Distance(p, key)).FirstOrDefault(p => Distance(p, key) <= 3);
                string? hint = suggest is not null ? suggest(full) : near is null ? null : $"did you mean '{near}'?";
                throw new ConfigException($"{tree.Where(k)}: unknown key '{full}'" + (hint is null ? "" : $" ({hint})"));
            }
            if (IsNull(v) && !CanBeNull(prop))
                throw new ConfigException($"{tree.Where(v)}: '{full}' must not be null");
            var value = Value(prop.PropertyType, tree, v, full, suggest);
            CheckRange(prop, value, tree, v, full);
            prop.SetValue(result, value);
        }
        return result;
    }

    /// <summary>A plain <c>null</c>, <c>~</c> or empty value (a quoted "null" is the text null).</summary>
    private static bool IsNull(YamlNode node) => node is YamlScalarNode { Value: null or "null" or "~" } s
        && s.Style is not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted);

    /// <summary>True when the property accepts null (a nullable value type, or a reference type declared nullable).</summary>
    public static bool CanBeNull(PropertyInfo prop) =>
        Nullable.GetUnderlyingType(prop.PropertyType) is not null
        || (!prop.PropertyType.IsValueType && new NullabilityInfoContext().Create(prop).WriteState != NullabilityState.NotNull);

    /// <summary>A number outside its key's range is an error at the place it was written.</summary>
    private static void CheckRange(PropertyInfo prop, object? value, ConfigTree tree, YamlNode node, string key)
    {
        if (prop.GetCustomAttribute<SettingAttribute>() is not { Bounded: true } setting) return;
        double? x = value switch { int i => i, long l => l, double d => d, _ => null };
        if (x is { } number && !setting.Accepts(number))
            throw new ConfigException($"{tree.Where(node)}: '{key}' must be {setting.RangeText}, got " +
                $"{((YamlScalarNode)node).Value}{RangeHint(key, number)}");
    }

    /// <summary>What a value out of range probably meant, for the keys where TRL users meet a different convention.</summary>
    private static string RangeHint(string key, double value) => key switch
    {
        "training.max_steps" when value < -1 => " (0 or -1: as many steps as training.epochs take)",
        "training.learning_rate" when value < 0 => " (a negative rate would train towards the rejected completions)",
        _ => "",
    };

    private static object? Value(Type type, ConfigTree tree, YamlNode node, string key, Func<string, string?>? suggest)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (IsNull(node) && (underlying is not null || !type.IsValueType)) return null;
        type = underlying ?? type;
        if (type == typeof(IReadOnlyList<string>)) return StringList(tree, node, key);
        if (type.IsClass && type != typeof(string))
        {
            return node is YamlMappingNode m ? Bind(type, tree, m, key, suggest)
                : throw new ConfigException($"{tree.Where(node)}: '{key}' must be a section (a mapping)");
        }
        string s = node is YamlScalarNode sc ? sc.Value ?? "" : throw new ConfigException($"{tree.Where(node)}: '{key}' must be a single value");
        object? parsed = type switch
        {
            _ when type == typeof(string) => s,
            _ when type == typeof(int) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null,
            _ when type == typeof(long) => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null,
            _ when type == typeof(double) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
            _ when type == typeof(bool) => bool.TryParse(s, out var b) ? b : null,
            _ when type.IsEnum => Enum.GetNames(type).FirstOrDefault(n => SnakeCase(n) == s || n.Equals(s, StringComparison.OrdinalIgnoreCase)) is { } n
                ? Enum.Parse(type, n) : null,
            _ => throw new ConfigException($"{tree.Where(node)}: '{key}' has an unsupported type {type.Name}"),
        };
        if (parsed is not null) return parsed;
        string expected = type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(SnakeCase))
            : type == typeof(bool) ? "true or false" : type == typeof(double) ? "a number" : "a whole number";
        throw new ConfigException($"{tree.Where(node)}: '{key}' must be {expected}, got '{s}'");
    }

    /// <summary>A list of names: a YAML sequence of single values, or one comma-separated value (as --set gives it).</summary>
    private static List<string> StringList(ConfigTree tree, YamlNode node, string key) => node switch
    {
        YamlSequenceNode seq => [.. seq.Children.Select(c => c is YamlScalarNode { Value: { Length: > 0 } v } ? v
            : throw new ConfigException($"{tree.Where(c)}: '{key}' entries must be single names"))],
        YamlScalarNode { Value: { } v } => [.. v.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        _ => throw new ConfigException($"{tree.Where(node)}: '{key}' must be a list of names"),
    };

    /// <summary>PascalCase to snake_case: MaxGradNorm -> max_grad_norm, AdamBeta1 -> adam_beta1.</summary>
    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    private static int Distance(string a, string b) => ConfigSchema.Distance(a, b);
}
