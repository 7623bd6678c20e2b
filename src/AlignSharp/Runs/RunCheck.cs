using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Training;

namespace AlignSharp.Runs;

/// <summary>
/// Checks a run before any work (<c>alignsharp validate</c>, and the first thing <c>train</c> does): the config's
/// device, dtype and objective; that the output folder is writable; that the tokenizer and the model folder(s) load
/// (config and weight headers, no weights read) and fit each other; that the data yields at least one batch. Each
/// problem is one <see cref="AlignSharpException"/> naming the key and where it was written.
/// </summary>
public static class RunCheck
{
    /// <summary>Runs every check, reporting each to <paramref name="log"/>; returns the batch plan.</summary>
    public static BatchPlanSummary Validate(RunConfig config, Action<string> log)
    {
        var target = ComputeTarget.From(config);
        var objective = config.CreateObjective();
        log($"config: objective {string.Join(" + ", config.Objectives.Select(o => o.Name))}, device {target.Device}, " +
            $"dtype {ConfigYaml.Scalar(config.Model.Dtype)}, precision {ConfigYaml.Scalar(config.Training.Precision)}");
        if (target.PrecisionWarning is { } warning) log(warning);
        OutputWritable(config);
        log($"output_dir: {Path.GetFullPath(config.OutputDir)} (writable)");
        string spec = RunTokenizer.SpecOf(config);
        Tokenization.ITokenizer tokenizer;
        try { tokenizer = RunTokenizer.Load(spec); }
        catch (Tokenization.TokenizerException e)
        {
            string key = config.Tokenizer is not null ? "tokenizer" : "model.path";
            throw new ConfigException($"{config.PlaceOf(key)}: {key}: {e.Message} (the tokenizer is 'tokenizer', else " +
                "model.path's folder: give a folder with tokenizer.json, a tokenizer.json file, or 'byte')");
        }
        log($"tokenizer: {RunTokenizer.SpecOf(config)} ({tokenizer.VocabSize} tokens)");
        if (config.Model.Path is { } path) Model("model.path", path, tokenizer.VocabSize, config, log);
        else log($"model: a fresh GPT-2 (hidden {config.Model.HiddenSize}, {config.Model.NumLayers} layers), seed " +
            $"{config.Training.Seed}");
        if (config.ReferencePath is { } reference) Model("reference_path", reference, tokenizer.VocabSize, config, log);
        var chat = RunChatTemplate.For(config);
        log("chat template: " + (config.Data.ChatTemplate is { } named ? $"{named} (data.chat_template)"
            : chat.Formatter is Data.Chat.MissingChatTemplate ? "none (conversational data would need data.chat_template)"
            : "the tokenizer folder's"));
        var data = RunData.For(config, tokenizer, log);
        var (train, eval) = data.Examples(unpaired: objective is IUnpairedObjective && data.IsUnpaired);
        string kind = train.Kind == BatchKind.Pairs ? "pairs" : "examples";
        if (train.Count == 0)
            throw new ConfigException($"{config.PlaceOf("data.train")}: data.train: no training {kind} (the data " +
                "lines above say why: every record was reported, or held out by data.eval_fraction)");
        if (PreferenceTrainer.BatchesPerEpoch(config.Training, train.Count) == 0)
            throw new ConfigException($"{config.PlaceOf("training.batch_size")}: the {train.Count} training {kind} " +
                $"make no full batch of training.batch_size {config.Training.BatchSize} with training.drop_last: " +
                "true; lower batch_size, add data or set drop_last: false");
        var plan = BatchPlanSummary.Of(config.Training, train.Count, eval.Count, kind);
        log(plan.Describe(config.Training));
        return plan;
    }

    /// <summary>Creates the output folder when missing and writes (then deletes) a probe file in it.</summary>
    public static void OutputWritable(RunConfig config) =>
        Writable(config.OutputDir, config.PlaceOf("output_dir"), "output_dir");

    /// <summary>
    /// Creates <paramref name="folder"/> when missing and writes (then deletes) a probe file in it, so a command
    /// learns that it cannot write its outputs before any work rather than after. The error is one line:
    /// "<paramref name="where"/>: <paramref name="what"/> DIR is not writable (reason)".
    /// </summary>
    /// <exception cref="RunFolderException">The folder cannot be made or written (read-only, a file in the way, ...).</exception>
    public static void Writable(string folder, string where, string what)
    {
        string dir = Path.GetFullPath(folder);
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".alignsharp-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException($"{where}: {what} {dir} is not writable ({e.Message})");
        }
    }

    private static void Model(string key, string dir, int tokens, RunConfig config, Action<string> log)
    {
        ModelConfig cfg;
        try { cfg = HfCheckpoint.Inspect(dir); }
        catch (CheckpointException e) { throw new ConfigException($"{config.PlaceOf(key)}: {key}: {e.Message}"); }
        if (tokens > cfg.VocabSize)
            throw new ConfigException($"{config.PlaceOf(key)}: {key} {dir} has vocab_size {cfg.VocabSize} but the " +
                $"tokenizer ({RunTokenizer.SpecOf(config)}) has {tokens} tokens; give the model's own tokenizer " +
                "('tokenizer: DIR', default: the model folder)");
        log($"{key}: {dir} ({cfg.ModelType}, vocab {cfg.VocabSize}, {cfg.NumLayers} layers; " +
            "config and weight headers checked)");
    }
}
