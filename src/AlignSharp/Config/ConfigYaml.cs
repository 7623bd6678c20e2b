using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Config;

/// <summary>
/// Writes a <see cref="RunConfig"/> as YAML with every key (defaults included) in <see cref="ConfigSchema"/>'s
/// order: what <c>alignsharp train --print-config</c> prints. <see cref="RunConfig.FromTree"/> reads the text back
/// to the same config.
/// </summary>
public static partial class ConfigYaml
{
    /// <summary>The whole config as YAML; <paramref name="header"/> lines become comments at the top.</summary>
    public static string Write(RunConfig config, params string[] header)
    {
        var sb = new StringBuilder();
        foreach (var line in header) sb.Append("# ").Append(line).Append('\n');
        var records = new Dictionary<string, object>
        {
            [""] = new TopLevelSection
            {
                Tokenizer = config.Tokenizer, Reference = config.Reference, ReferencePath = config.ReferencePath,
                OutputDir = config.OutputDir,
            },
            ["model"] = config.Model, ["data"] = config.Data, ["adapter"] = config.Adapter, ["training"] = config.Training,
        };
        foreach (var (section, _) in ConfigSchema.Sections)
        {
            var keys = ConfigSchema.Keys.Where(k => k.Section == section);
            if (section.Length == 0)
            {
                foreach (var k in keys) sb.Append($"{k.Name}: {Scalar(k.Property.GetValue(records[""]))}\n");
                continue;
            }
            sb.Append(section).Append(":\n");
            foreach (var k in keys) sb.Append($"  {k.Name}: {Scalar(k.Property.GetValue(records[section]))}\n");
        }
        WriteObjectives(sb, config.Objectives);
        return sb.ToString();
    }

    /// <summary>One value as a YAML scalar (or a flow list): null, true/false, numbers that read back exactly, snake_case
    /// enum names, and strings quoted when plain YAML would read them as something else.</summary>
    public static string Scalar(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => Number(d),
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        Enum e => ConfigBinder.SnakeCase(e.ToString()),
        string s => Text(s),
        IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(Scalar)) + "]",
        _ => Text(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    /// <summary>A double that parses back to the same value ("R"), lower-case exponent.</summary>
    public static string Number(double d) => d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");

    /// <summary>A string plain when YAML reads it back as the same string, else double-quoted (JSON escapes).</summary>
    public static string Text(string s) =>
        Plain().IsMatch(s) && s is not ("null" or "Null" or "NULL" or "~" or "true" or "false" or "True" or "False"
            or "yes" or "no" or "on" or "off")
            ? s
            : System.Text.Json.JsonSerializer.Serialize(s);

    private static void WriteObjectives(StringBuilder sb, IReadOnlyList<ObjectiveSpec> objectives)
    {
        if (objectives.Count == 1 && objectives[0].Weight == 1.0)
        {
            sb.Append("objective:\n");
            sb.Append($"  name: {Text(objectives[0].Name)}\n");
            foreach (var (k, v) in objectives[0].Params) sb.Append($"  {k}: {Text(v)}\n");
            return;
        }
        sb.Append("objectives:\n");
        foreach (var o in objectives)
        {
            sb.Append($"  - name: {Text(o.Name)}\n");
            sb.Append($"    weight: {Number(o.Weight)}\n");
            foreach (var (k, v) in o.Params) sb.Append($"    {k}: {Text(v)}\n");
        }
    }

    /// <summary>Characters a plain scalar may hold anywhere without changing meaning (no ": ", " #", flow marks).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_./+\-][A-Za-z0-9_./+\-:@]*$")]
    private static partial Regex Plain();
}
