using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Objectives;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Tokenization;
using TorchSharp;

namespace AlignSharp.Training;

/// <summary>Builds a run from its <see cref="RunConfig"/> (tokenizer, models, data, reference, objective) and trains it.</summary>
public sealed class TrainingRun
{
    private readonly RunConfig config;
    private readonly ITrainingObserver observer;

    /// <summary>Prepares a run; nothing is loaded until <see cref="Execute"/>.</summary>
    public TrainingRun(RunConfig config, ITrainingObserver observer)
    {
        this.config = config;
        this.observer = observer;
    }

    /// <summary>The tokenizer the config names: the byte tokenizer, or tokenizer.json from a folder.</summary>
    public static ITokenizer CreateTokenizer(RunConfig c) =>
        (c.Tokenizer ?? (c.Model.Path is null ? "byte" : c.Model.Path)) switch
        {
            "byte" => new ByteTokenizer(),
            var dir => HfTokenizer.FromFolder(dir),
        };

    /// <summary>Builds the starting model: loaded from the HF folder, or fresh from the seed (so every call gives the same weights).</summary>
    public static CausalLM CreateModel(RunConfig c, ITokenizer tokenizer)
    {
        if (c.Model.Path is not null) return HfCheckpoint.Load(c.Model.Path).Model;
        torch.manual_seed(c.Training.Seed);
        var m = c.Model;
        return new Gpt2Model(ModelConfig.TinyGpt2(tokenizer.VocabSize, m.HiddenSize, m.NumLayers, m.NumHeads, m.MaxPositions));
    }

    /// <summary>Reads, splits and tokenizes the data; trains; returns the metrics log.</summary>
    public IReadOnlyList<Dictionary<string, double>> Execute(string? resume = null)
    {
        var tokenizer = CreateTokenizer(config);
        var objective = config.CreateObjective();
        int pad = tokenizer.PadId ?? tokenizer.EosId ?? 0;
        using var policy = CreateModel(config, tokenizer);
        var lora = config.Adapter.ToLoraOptions();
        if (lora is null && config.Adapter.Path is not null)
            throw new ConfigException("adapter.path: an adapter folder needs adapter.type: lora");
        using LoraAdapter? adapter = lora is null ? null
            : AdapterRun.Attach(policy, lora, config.Adapter.Path, config.Training.Seed);
        if (adapter is not null)
            observer.OnMessage($"adapter: LoRA r {adapter.Options.R} on {adapter.AdaptedModules.Count} modules "
                + $"({string.Join(", ", adapter.TargetModules)}), {adapter.NamedParameters.Sum(p => p.Parameter.numel())} "
                + "trainable parameters; base frozen");
        IReferenceStrategy reference;
        TrainingSetup setup;
        if (objective is IUnpairedObjective && (config.Data.Unpair || DetectFormat() == DataFormat.Unpaired))
        {
            var (train, eval) = LoadUnpaired(tokenizer);
            observer.OnMessage($"data: {train.Count} training examples, {eval.Count} evaluation examples (unpaired)");
            // Filled as batches arrive: KL rows depend on the batch.
            reference = adapter is not null && config.ReferencePath is null
                ? AdapterRun.Reference(adapter, config.Reference == ReferenceKind.Cached, ReferenceCacheRoot())
                : config.Reference == ReferenceKind.Frozen
                    ? new FrozenReference(CreateReferenceModel(tokenizer))
                    : new CachedReference(CreateReferenceModel(tokenizer), ReferenceCacheRoot());
            setup = TrainingSetup.ForUnpaired(policy, reference, objective, train, eval, pad);
        }
        else
        {
            var (train, eval) = LoadPairs(tokenizer);
            observer.OnMessage($"data: {train.Count} training pairs, {eval.Count} evaluation pairs");
            reference = CreateReference(objective.NeedsReference, tokenizer, train, eval, adapter);
            setup = new TrainingSetup(policy, reference, objective, train, eval, pad);
        }
        if (adapter is not null) setup = setup with { Trainable = new AdapterWeights(adapter, config.Model.Path) };
        using var _ = reference;
        var trainer = new PreferenceTrainer(setup, config.Training, config.OutputDir, observer);
        string? from = resume is null ? null : TrainingCheckpoint.Resolve(config.OutputDir, resume);
        var log = trainer.Run(from);
        string final = Path.Combine(config.OutputDir, "final");
        if (adapter is not null)
        {
            PeftAdapterFolder.Save(adapter, final, config.Model.Path);
            observer.OnMessage($"saved the trained adapter (PEFT format) in {final}; fold it into the base with "
                + "'alignsharp adapters merge'");
            return log;
        }
        HfCheckpoint.Save(policy, final, new HfSaveOptions { SourceDir = TokenizerFolder(config) });
        observer.OnMessage($"saved the trained model as a Hugging Face folder: {final}");
        return log;
    }

    private static string? TokenizerFolder(RunConfig c) =>
        (c.Tokenizer ?? c.Model.Path) is { } dir && dir != "byte" && Directory.Exists(dir) ? dir : null;

    private DataFormat DetectFormat() =>
        config.Data.Format != DataFormat.Auto ? config.Data.Format
            : PreferenceDataLoader.Load(config.Data.Train ?? throw new ConfigException("data.train: no training data given"), new DataOptions()).Format;

    /// <summary>Unpaired examples for KTO: records with prompt/completion/label, or pairs split into one desirable and one undesirable example.</summary>
    private (List<TokenizedUnpaired> Train, List<TokenizedUnpaired> Eval) LoadUnpaired(ITokenizer tokenizer)
    {
        var d = config.Data;
        var tokenization = new TokenizationOptions(d.MaxLength, d.MaxPromptLength ?? Math.Max(1, d.MaxLength / 2), d.TruncationMode);
        var options = new DataOptions { Format = d.Format, OnBadRecord = d.OnBadRecord, Pairing = d.Pairing };
        var pt = new PairTokenizer(tokenizer, tokenization);
        List<TokenizedUnpaired> Load(string spec)
        {
            var loaded = PreferenceDataLoader.Load(spec, options);
            var examples = loaded.Unpaired.Count > 0 ? loaded.Unpaired : Unpairing.Split(loaded.Pairs);
            var items = new List<TokenizedUnpaired>();
            foreach (var e in examples)
            {
                if (pt.TryTokenize(e, out var problem) is { } t) items.Add(t);
                else if (d.OnBadRecord == AlignSharp.Data.Validation.BadRecordPolicy.Fail) throw new DataException(e.Source, problem!.Detail);
                else loaded.Report.Add(problem!);
            }
            observer.OnMessage($"data: {spec} ({loaded.Format.ToString().ToLowerInvariant()}, as unpaired examples): {items.Count} examples");
            foreach (var line in loaded.Report.ToText().Split('\n', StringSplitOptions.RemoveEmptyEntries)) observer.OnMessage("  " + line);
            return items;
        }
        var train = Load(d.Train ?? throw new ConfigException("data.train: no training data given"));
        if (d.Eval is { } evalPath) return (train, Load(evalPath));
        if (d.EvalFraction is < 0 or >= 1 || double.IsNaN(d.EvalFraction))
            throw new ConfigException($"data.eval_fraction: must be in [0, 1), got {d.EvalFraction}");
        return DataSplit.TrainEval(train, x => x.Example.Source, d.EvalFraction, unchecked((int)config.Training.Seed));
    }

    private (List<TokenizedPair> Train, List<TokenizedPair> Eval) LoadPairs(ITokenizer tokenizer)
    {
        var d = config.Data;
        string trainPath = d.Train ?? throw new ConfigException("data.train: no training data given");
        var tokenization = new TokenizationOptions(d.MaxLength, d.MaxPromptLength ?? Math.Max(1, d.MaxLength / 2), d.TruncationMode);
        var options = new DataOptions
        {
            Format = d.Format, OnBadRecord = d.OnBadRecord, Pairing = d.Pairing,
            ChatFormatter = AlignSharp.Data.Chat.ChatFormatters.ForFolder(config.Tokenizer is "byte" ? null : config.Tokenizer ?? config.Model.Path),
        };
        var train = LoadTokenized("train", trainPath, tokenizer, tokenization, options);
        if (d.Eval is { } evalPath) return (train.Pairs.ToList(), LoadTokenized("eval", evalPath, tokenizer, tokenization, options).Pairs.ToList());
        if (d.EvalFraction is < 0 or >= 1 || double.IsNaN(d.EvalFraction))
            throw new ConfigException($"data.eval_fraction: must be in [0, 1), got {d.EvalFraction}");
        return DataSplit.TrainEval(train.Pairs, p => p.Example.Source, d.EvalFraction, unchecked((int)config.Training.Seed));
    }

    /// <summary>Loads, validates and tokenizes one data set through the tokenized-data cache, logging what was used, reported and truncated.</summary>
    private TokenizedData LoadTokenized(string name, string path, ITokenizer tokenizer, TokenizationOptions tokenization, DataOptions options)
    {
        var data = TokenizedData.Load(path, tokenizer, tokenization, options, Path.Combine(CacheRoot(), "tokenized-data"));
        var r = data.Report;
        observer.OnMessage($"{name} data: {path} ({data.Format.ToString().ToLowerInvariant()}{(data.FromCache ? ", tokenized cache hit" : "")}): " +
            $"{r.RecordsRead} records, {r.RecordsUsed} used, {r.RecordsReported} reported; {data.Pairs.Count} pairs, {r.ExamplesTooLong} too long; " +
            $"truncated: prompt {r.PromptTruncated}, completion {r.CompletionTruncated}");
        foreach (var (issue, count) in r.Counts)
            observer.OnMessage($"  {AlignSharp.Data.Validation.RecordIssues.Name(issue)}: {count} (first: {r.Examples[issue][0]})");
        return data;
    }

    /// <summary>The reference model: the <c>reference_path</c> folder when given, else the starting model again.</summary>
    private CausalLM CreateReferenceModel(ITokenizer tokenizer) =>
        config.ReferencePath is { } dir ? HfCheckpoint.Load(dir).Model : CreateModel(config, tokenizer);

    private IReferenceStrategy CreateReference(bool needed, ITokenizer tokenizer, List<TokenizedPair> train,
        List<TokenizedPair> eval, LoraAdapter? adapter)
    {
        if (!needed) return new NoReference();
        bool useAdapter = adapter is not null && config.ReferencePath is null;
        if (useAdapter && config.Reference == ReferenceKind.Frozen) return new AdapterDisabledReference(adapter!);
        var cached = useAdapter
            ? new CachedReference(adapter!.Model, ReferenceCacheRoot(), adapter.Disable)
            : config.Reference == ReferenceKind.Frozen ? null : new CachedReference(CreateReferenceModel(tokenizer), ReferenceCacheRoot());
        if (cached is null) return new FrozenReference(CreateReferenceModel(tokenizer));
        int pad = tokenizer.PadId ?? tokenizer.EosId ?? 0;
        cached.Precompute(train.Concat(eval).ToList(), config.Training.BatchSize, pad, torch.CPU);
        observer.OnMessage($"reference log-probs: {cached.LoadedRows} rows from cache, {cached.Forwards} reference batches computed ({cached.CacheFile})");
        return cached;
    }

    /// <summary>Reference log-prob caches shared by runs.</summary>
    public static string ReferenceCacheRoot() => Path.Combine(CacheRoot(), "reference-logps");

    /// <summary>The user-level cache root: $ALIGNSHARP_CACHE, else $XDG_CACHE_HOME/alignsharp, else ~/.cache/alignsharp.</summary>
    public static string CacheRoot() =>
        Environment.GetEnvironmentVariable("ALIGNSHARP_CACHE") is { Length: > 0 } a ? a
            : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? Path.Combine(x, "alignsharp")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "alignsharp");
}
