using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AlignSharp.Checkpoints;
using AlignSharp.IO;
using AlignSharp.Models;
using static TorchSharp.torch;

namespace AlignSharp.Adapters;

/// <summary>What an adapter folder's <c>adapter_config.json</c> says.</summary>
/// <param name="Options">The LoRA settings.</param>
/// <param name="BaseModel">PEFT's <c>base_model_name_or_path</c> (informational), or null.</param>
/// <param name="TargetPattern">A regular expression <c>target_modules</c> (PEFT allows one) or null when a list.</param>
public sealed record PeftAdapterConfig(LoraOptions Options, string? BaseModel, string? TargetPattern);

/// <summary>
/// PEFT's on-disk adapter format, both ways: <c>adapter_config.json</c> (<c>peft_type: LORA</c>,
/// <c>task_type: CAUSAL_LM</c>, <c>r</c>, <c>lora_alpha</c>, ...) and <c>adapter_model.safetensors</c> with keys
/// <c>base_model.model.PATH.lora_A.weight</c> (r, in) and <c>.lora_B.weight</c> (out, r), the adapter name
/// ("default") stripped, and <c>modules_to_save</c> copies as <c>base_model.model.PATH.weight</c>. A folder written by
/// PEFT loads here and one written here loads in PEFT.
/// </summary>
public static class PeftAdapterFolder
{
    /// <summary>The adapter's settings file.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>The adapter's weights file.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>True when <paramref name="dir"/> holds an adapter (its config file).</summary>
    public static bool IsAdapterFolder(string dir) => File.Exists(Path.Combine(dir, ConfigFile));

    /// <summary>Writes both files into <paramref name="dir"/> (created if needed); each file is written atomically.</summary>
    public static void Save(LoraAdapter adapter, string dir, string? baseModelNameOrPath)
    {
        Directory.CreateDirectory(dir);
        using (var scope = NewDisposeScope())
            SafetensorsFile.Write(Path.Combine(dir, WeightsFile), adapter.StateDict());
        var o = adapter.Options;
        var config = new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = adapter.Model.Config.Family.LinearWeightsAreInOut, // Conv1D stores (in, out)
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["lora_alpha"] = o.Alpha == Math.Floor(o.Alpha) ? JsonValue.Create((long)o.Alpha) : JsonValue.Create(o.Alpha),
            ["lora_dropout"] = o.Dropout,
            ["modules_to_save"] = o.ModulesToSave.Count == 0 ? null : new JsonArray([.. o.ModulesToSave.Select(Str)]),
            ["peft_type"] = "LORA",
            ["r"] = o.R,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = new JsonArray([.. adapter.TargetModules.Select(Str)]),
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = o.UseRsLora,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile),
            config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads <c>adapter_config.json</c>; an unsupported or malformed setting is an error naming the key.</summary>
    public static PeftAdapterConfig ReadConfig(string dir)
    {
        string path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new AdapterException($"{dir}: not an adapter folder ({ConfigFile} missing)");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new AdapterException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new AdapterException($"{path}: not valid JSON ({e.Message})", e);
        }
        string? Text(string key) => root[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        bool Flag(string key) => root[key] is JsonValue v && v.TryGetValue(out bool b) && b;
        AdapterException Bad(string key, string why) => new($"{path}: {key}: {why}");

        if (Text("peft_type") is var type && type != "LORA") throw Bad("peft_type", $"'{type}' is not supported (LORA only)");
        if (Text("task_type") is { } task && task != "CAUSAL_LM")
            throw Bad("task_type", $"'{task}' is not supported (CAUSAL_LM only)");
        if (Flag("use_dora")) throw Bad("use_dora", "DoRA is not supported");
        if (Text("bias") is { } bias && bias != "none") throw Bad("bias", $"'{bias}' is not supported ('none' only)");
        foreach (var key in new[] { "rank_pattern", "alpha_pattern" })
            if (root[key] is JsonObject { Count: > 0 }) throw Bad(key, "per-module ranks and alphas are not supported");
        if (root["layers_to_transform"] is not null) throw Bad("layers_to_transform", "not supported");

        int r = root["r"] is JsonValue rv && rv.TryGetValue(out int ri) ? ri : throw Bad("r", "missing or not an integer");
        double alpha = root["lora_alpha"] is JsonValue av && av.TryGetValue(out double ad) ? ad : r;
        double dropout = root["lora_dropout"] is JsonValue dv && dv.TryGetValue(out double dd) ? dd : 0;
        string? pattern = root["target_modules"] is JsonValue pv && pv.TryGetValue(out string? ps) ? ps : null;
        IReadOnlyList<string>? targets = root["target_modules"] switch
        {
            JsonArray a => [.. a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s
                : throw Bad("target_modules", "entries must be strings"))],
            _ when pattern is not null => null, // resolved against the model's module paths on load
            null => throw Bad("target_modules", "missing"),
            _ => throw Bad("target_modules", "must be a list of names or a regular expression"),
        };
        IReadOnlyList<string> save = root["modules_to_save"] switch
        {
            JsonArray a => [.. a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s
                : throw Bad("modules_to_save", "entries must be strings"))],
            null => [],
            _ => throw Bad("modules_to_save", "must be a list of names"),
        };
        var options = new LoraOptions
        {
            R = r, Alpha = alpha, Dropout = dropout, TargetModules = targets, UseRsLora = Flag("use_rslora"),
            ModulesToSave = save,
        };
        try
        {
            options.Validate();
        }
        catch (AdapterException e)
        {
            throw new AdapterException($"{path}: {e.Message}", e);
        }
        return new PeftAdapterConfig(options, Text("base_model_name_or_path"), pattern);
    }

    /// <summary>
    /// Attaches the adapter in <paramref name="dir"/> (ours or PEFT's) to <paramref name="model"/> and loads its
    /// weights. Keys and shapes are checked before anything is copied: the first key naming a module the base lacks,
    /// a missing or unexpected key, or a shape that differs (wrong r, wrong base) is one error naming that key.
    /// </summary>
    public static LoraAdapter Load(CausalLM model, string dir)
    {
        var config = ReadConfig(dir);
        string weights = Path.Combine(dir, WeightsFile);
        using var file = SafetensorsFile.Open(weights);
        CheckModulesExist(model, file);
        var options = config.TargetPattern is { } p ? config.Options with { TargetModules = ResolvePattern(model, p, dir) }
            : config.Options;
        LoraAdapter adapter;
        try
        {
            adapter = LoraAdapter.Attach(model, options);
        }
        catch (AdapterException e)
        {
            throw new AdapterException($"{Path.Combine(dir, ConfigFile)}: {e.Message}", e);
        }
        try
        {
            LoadWeights(adapter, file);
            return adapter;
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }

    /// <summary>Loads the weights of the adapter folder <paramref name="dir"/> into an attached adapter (resume).</summary>
    public static void LoadWeights(LoraAdapter adapter, string dir)
    {
        using var file = SafetensorsFile.Open(Path.Combine(dir, WeightsFile));
        LoadWeights(adapter, file);
    }

    private static void LoadWeights(LoraAdapter adapter, SafetensorsFile file)
    {
        var expected = adapter.ExpectedShapes();
        foreach (var key in file.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (!expected.TryGetValue(key, out var want))
                throw new AdapterException($"{file.FilePath}: unexpected key '{key}': the adapter config adapts "
                    + $"[{string.Join(", ", adapter.TargetModules)}] with modules_to_save "
                    + $"[{string.Join(", ", adapter.Options.ModulesToSave)}]");
            var got = file.Tensors[key].Shape;
            if (!want.SequenceEqual(got))
                throw new AdapterException($"{file.FilePath}: key '{key}' has shape [{string.Join(", ", got)}], expected "
                    + $"[{string.Join(", ", want)}] (r = {adapter.Options.R} on this base)");
        }
        var missing = expected.Keys.Order(StringComparer.Ordinal).FirstOrDefault(k => !file.Tensors.ContainsKey(k));
        if (missing is not null) throw new AdapterException($"{file.FilePath}: missing key '{missing}'");
        using var scope = NewDisposeScope();
        adapter.CopyFrom(expected.Keys.ToDictionary(k => k, k => file.Read(k), StringComparer.Ordinal));
    }

    /// <summary>The first saved key whose module path the base does not have (wrong family or size) is an error.</summary>
    private static void CheckModulesExist(CausalLM model, SafetensorsFile file)
    {
        var paths = model.named_modules().Select(m => m.name).ToHashSet(StringComparer.Ordinal);
        foreach (var key in file.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (!key.StartsWith(LoraAdapter.KeyPrefix, StringComparison.Ordinal))
                throw new AdapterException($"{file.FilePath}: key '{key}' does not start with '{LoraAdapter.KeyPrefix}'");
            string name = key[LoraAdapter.KeyPrefix.Length..];
            string module = name.EndsWith(".lora_A.weight", StringComparison.Ordinal)
                || name.EndsWith(".lora_B.weight", StringComparison.Ordinal)
                ? name[..^".lora_A.weight".Length]
                : name[..Math.Max(0, name.LastIndexOf('.'))];
            if (!paths.Contains(module))
                throw new AdapterException($"{file.FilePath}: key '{key}' names module '{module}', which this base "
                    + $"(model_type '{model.Config.ModelType}', {model.Config.NumLayers} layers) does not have");
        }
    }

    /// <summary>PEFT's string <c>target_modules</c>: a regular expression matched against whole module paths.</summary>
    private static IReadOnlyList<string> ResolvePattern(CausalLM model, string pattern, string dir)
    {
        Regex regex;
        try
        {
            regex = new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new AdapterException($"{Path.Combine(dir, ConfigFile)}: target_modules: bad regular expression ({e.Message})");
        }
        var hits = model.named_modules().Select(m => m.name).Where(n => n.Length > 0 && regex.IsMatch(n)).ToList();
        if (hits.Count == 0)
            throw new AdapterException($"{Path.Combine(dir, ConfigFile)}: target_modules: '{pattern}' matches no module; "
                + $"modules are: {string.Join(", ", LoraAdapter.ModuleNames(model))}");
        return hits;
    }

    private static JsonNode Str(string s) => JsonValue.Create(s);
}
