using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace AlignSharp.Config;

/// <summary>
/// Binds a YAML mapping onto an immutable record: keys are the snake_case names of its init properties,
/// defaults are the record's own. Unknown keys and bad values are errors naming the place and the key.
/// </summary>
public static class ConfigBinder
{
    /// <summary>Binds <paramref name="node"/> (or defaults when null) to a new <typeparamref name="T"/>.</summary>
    public static T Bind<T>(ConfigTree tree, YamlMappingNode? node, string section) where T : new() =>
        (T)Bind(typeof(T), tree, node, section);

    private static object Bind(Type type, ConfigTree tree, YamlMappingNode? node, string section)
    {
        var result = Activator.CreateInstance(type)!;
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
                throw new ConfigException($"{tree.Where(k)}: unknown key '{full}'" + (near is null ? "" : $" (did you mean '{near}'?)"));
            }
            prop.SetValue(result, Value(prop.PropertyType, tree, v, full));
        }
        return result;
    }

    private static object? Value(Type type, ConfigTree tree, YamlNode node, string key)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (node is YamlScalarNode { Value: null or "null" or "~" } && (underlying is not null || !type.IsValueType)) return null;
        type = underlying ?? type;
        if (type == typeof(IReadOnlyList<string>)) return StringList(tree, node, key);
        if (type.IsClass && type != typeof(string))
        {
            return node is YamlMappingNode m ? Bind(type, tree, m, key)
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

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
