using System.Text;

namespace AlignSharp.Config;

/// <summary>
/// The run-config reference (docs/config.md), generated from the section records and their
/// <see cref="SettingAttribute"/>s so keys, types, defaults, ranges and TRL names cannot drift from the code.
/// </summary>
public static class ConfigDocs
{
    /// <summary>The command that regenerates the committed file.</summary>
    public const string RegenerateCommand = "dotnet run --project src/AlignSharp.Cli -- config docs --output docs/config.md";

    private static readonly Dictionary<string, string> SectionText = new()
    {
        [""] = "Top-level keys.",
        ["model"] = "`model:` the starting model: a Hugging Face folder, or a fresh tiny GPT-2 built from `training.seed`.",
        ["data"] = "`data:` the preference records and how they are cut to length (formats: docs/data.md).",
        ["adapter"] = "`adapter:` full fine-tuning (the default) or LoRA on a frozen base (docs/adapters.md).",
        ["training"] = "`training:` optimisation, logging, checkpoints and placement.",
    };

    /// <summary>The whole markdown page.</summary>
    public static string Markdown()
    {
        var sb = new StringBuilder();
        sb.Append("# Run configuration reference\n\n");
        sb.Append("<!-- Generated from the config records (ConfigSchema); do not edit. Regenerate with:\n     ")
            .Append(RegenerateCommand).Append(" -->\n\n");
        sb.Append("A run config is YAML: `alignsharp train --config run.yaml [--set section.key=value ...]`\n");
        sb.Append("(`examples/dpo-tiny.yaml` is a complete one). Every key below may be omitted (it keeps its default) and\n");
        sb.Append("overridden with `--set`. An unknown key, a value of the wrong type and a number outside its range are\n");
        sb.Append("errors naming the file and line (or the `--set`) and the key, before anything is loaded.\n");
        sb.Append("`alignsharp train --print-config --config run.yaml` prints the resolved config (every key, defaults\n");
        sb.Append("included) as YAML that loads back to the same config; `alignsharp validate --config run.yaml` checks\n");
        sb.Append("the config, the model and tokenizer folders, the data (records, pairs, batches per epoch) and the\n");
        sb.Append("output folder in seconds, as `train` does first.\n\n");
        sb.Append("**Coming from TRL.** The column \"TRL\" names the `DPOConfig` / `TrainingArguments` / `ModelConfig`\n");
        sb.Append("(PEFT) argument each key corresponds to. TRL's names are not accepted as aliases (one name per setting,\n");
        sb.Append("so a config reads one way); written in a config, each is an error naming our key, e.g.\n");
        sb.Append("`unknown key 'training.per_device_train_batch_size' (did you mean 'training.batch_size'? it is TRL's\n");
        sb.Append("per_device_train_batch_size)`. Misspelt keys get the nearest name the same way.\n");
        sb.Append("Differences worth knowing: `training.batch_size` is the global batch under MPI (TRL's is per device);\n");
        sb.Append("the last partial batch of an epoch is kept unless `training.drop_last: true` (as TRL); `max_steps`\n");
        sb.Append("0 or -1 means \"from `epochs`\"; the reference is cached on disk by default (`reference: frozen` is\n");
        sb.Append("TRL's default behaviour).\n\n");

        foreach (var (section, _) in ConfigSchema.Sections)
        {
            sb.Append(section.Length == 0 ? "## Top level\n\n" : $"## `{section}`\n\n");
            sb.Append(SectionText[section]).Append("\n\n");
            sb.Append("| key | type | default | range | TRL | meaning |\n|---|---|---|---|---|---|\n");
            foreach (var k in ConfigSchema.Keys.Where(k => k.Section == section))
            {
                string trl = k.Setting.TrlNames.Count == 0 ? "" : string.Join(", ", k.Setting.TrlNames.Select(t => $"`{t}`"));
                string range = k.Setting.Bounded ? k.Setting.RangeText : "";
                sb.Append($"| `{k.Key}` | {TypeText(k.Property)} | `{ConfigYaml.Scalar(k.Default)}` | ")
                    .Append($"{Escape(range)} | {trl} | {Escape(k.Setting.Meaning)} |\n");
            }
            sb.Append('\n');
            if (section == "data") AppendObjective(sb);
        }
        return sb.ToString();
    }

    /// <summary>A key's value type as docs write it.</summary>
    public static string TypeText(System.Reflection.PropertyInfo property)
    {
        var type = property.PropertyType;
        string orNull = ConfigBinder.CanBeNull(property) ? " or null" : "";
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "text" + orNull;
        if (type == typeof(int) || type == typeof(long)) return "integer" + orNull;
        if (type == typeof(double)) return "number" + orNull;
        if (type == typeof(bool)) return "true/false";
        if (type.IsEnum) return string.Join(" \\| ", Enum.GetNames(type).Select(ConfigBinder.SnakeCase));
        if (type == typeof(IReadOnlyList<string>)) return "list of names";
        return type.Name;
    }

    private static void AppendObjective(StringBuilder sb)
    {
        sb.Append("## `objective` / `objectives`\n\n");
        sb.Append("`objective: {name: ID, PARAM: VALUE, ...}` picks one objective by id with its parameters, or\n");
        sb.Append("`objectives: [{name: ID, weight: W, PARAM: VALUE, ...}, ...]` a weighted sum. The ids, each one's\n");
        sb.Append("parameters, defaults and ranges are in docs/objectives.md (`alignsharp objectives list`). Default:\n");
        sb.Append("`objective: {name: dpo}` (beta 0.1).\n\n");
        sb.Append("| TRL | here |\n|---|---|\n");
        foreach (var (trl, here) in ConfigSchema.ObjectiveTrlNames)
            sb.Append($"| `{trl}` | `{Escape(here)}` |\n");
        sb.Append('\n');
    }

    private static string Escape(string s) => s.Replace("|", "\\|");
}
