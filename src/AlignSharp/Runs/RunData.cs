using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Data.Chat;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;
using AlignSharp.IO;
using AlignSharp.Tokenization;

namespace AlignSharp.Runs;

/// <summary>
/// The one data path: every command and workflow reads preference data through <see cref="PreferenceDataLoader"/>
/// (so every format, file, folder and glob works everywhere), tokenizes it with <see cref="PairTokenizer"/> through the
/// tokenized-data cache, and splits it under the run's seed. Each load is reported: records read, used, reported.
/// </summary>
public sealed class RunData
{
    private readonly DataSection section;
    private readonly ITokenizer tokenizer;
    private readonly long seed;
    private readonly Action<string> log;

    /// <summary>Data settings for <paramref name="tokenizer"/>; <paramref name="chat"/> renders conversational records.</summary>
    public RunData(DataSection section, ITokenizer tokenizer, IChatFormatter chat, long seed, Action<string> log)
    {
        this.section = section;
        this.tokenizer = tokenizer;
        this.seed = seed;
        this.log = log;
        Options = new DataOptions { Format = section.Format, OnBadRecord = section.OnBadRecord, Pairing = section.Pairing, ChatFormatter = chat };
    }

    /// <summary>The run's data settings, with the run's chat template (<see cref="RunChatTemplate"/>).</summary>
    public static RunData For(RunConfig config, ITokenizer tokenizer, Action<string> log) =>
        new(config.Data, tokenizer, RunChatTemplate.For(config).Formatter, config.Training.Seed, log);

    /// <summary>How records are read.</summary>
    public DataOptions Options { get; }

    /// <summary>Truncation limits: max_length, max_prompt_length (default half), truncation_mode.</summary>
    public TokenizationOptions Tokenization =>
        new(section.MaxLength, section.MaxPromptLength ?? Math.Max(1, section.MaxLength / 2), section.TruncationMode);

    /// <summary>Where the training data is; a config without it is an error.</summary>
    public string TrainSpec => section.Train ?? throw new ConfigException("data.train: no training data given");

    /// <summary>True when the data should be trained as unpaired examples: pairs split by data.unpair, or unpaired records.</summary>
    public bool IsUnpaired => section.Unpair || Format == DataFormat.Unpaired;

    /// <summary>True when the data holds scored responses (<c>tree</c> or <c>outcome</c> records: TPO, OREO).</summary>
    public bool IsTrees => Format is DataFormat.Tree or DataFormat.Outcome;

    /// <summary>The training data's format: data.format, or detected from its records.</summary>
    private DataFormat Format => section.Format != DataFormat.Auto ? section.Format
        : format ??= PreferenceDataLoader.Load(TrainSpec, new DataOptions()).Format;

    private DataFormat? format;

    /// <summary>
    /// Training and evaluation examples of one batch kind: unpaired examples (KTO) when <paramref name="unpaired"/>,
    /// else pairs; held out as <see cref="Pairs"/> and <see cref="Unpaired"/> do.
    /// </summary>
    public (IExampleSet Train, IExampleSet Eval) Examples(bool unpaired)
    {
        if (unpaired)
        {
            var (train, eval) = Unpaired();
            return (new UnpairedExamples(train), new UnpairedExamples(eval));
        }
        if (IsTrees)
        {
            var (trainTrees, evalTrees) = Trees();
            return (new TreeExamples(trainTrees), new TreeExamples(evalTrees));
        }
        var (trainPairs, evalPairs) = Pairs();
        return (new PairExamples(trainPairs), new PairExamples(evalPairs));
    }

    /// <summary>Training and evaluation pairs: data.eval, else data.eval_fraction of the training records held out.</summary>
    public (List<TokenizedPair> Train, List<TokenizedPair> Eval) Pairs()
    {
        var train = Load("train", TrainSpec);
        if (section.Eval is { } evalSpec) return (train.Pairs.ToList(), Load("eval", evalSpec).Pairs.ToList());
        return Split(train.Pairs, p => p.Example.Source);
    }

    /// <summary>Loads, validates and tokenizes one data set through the tokenized-data cache, logging what was used, reported and truncated.</summary>
    public TokenizedData Load(string name, string spec)
    {
        var data = TokenizedData.Load(spec, tokenizer, Tokenization, Options, CacheDirectory.For("tokenized-data"));
        var r = data.Report;
        log($"{name} data: {spec} ({data.Format.ToString().ToLowerInvariant()}{(data.FromCache ? ", tokenized cache hit" : "")}): " +
            $"{r.RecordsRead} records, {r.RecordsUsed} used, {r.RecordsReported} reported; {data.Pairs.Count} pairs, " +
            $"{r.ExamplesTooLong} too long; truncated: prompt {r.PromptTruncated}, completion {r.CompletionTruncated}");
        foreach (var (issue, count) in r.Counts)
            log($"  {RecordIssues.Name(issue)}: {count} (first: {r.Examples[issue][0]})");
        return data;
    }

    /// <summary>
    /// Scored responses (TPO's trees, OREO's outcome records): data.eval, else data.eval_fraction of the training
    /// records held out. Read and tokenized without the tokenized-data cache.
    /// </summary>
    public (List<TokenizedTree> Train, List<TokenizedTree> Eval) Trees()
    {
        var train = LoadTrees("train", TrainSpec);
        if (section.Eval is { } evalSpec) return (train, LoadTrees("eval", evalSpec));
        return Split(train, t => t.Example.Source);
    }

    private List<TokenizedTree> LoadTrees(string name, string spec)
    {
        var loaded = PreferenceDataLoader.Load(spec, Options);
        if (loaded.Trees.Count == 0)
            throw new DataException(SourceLocation.WholeFile(spec),
                $"{loaded.Format.ToString().ToLowerInvariant()} data holds no `tree` or `outcome` records");
        var trees = new PairTokenizer(tokenizer, Tokenization).TokenizeAll(loaded.Trees, loaded.Report, section.OnBadRecord);
        if (trees.Count == 0)
            throw new DataException(SourceLocation.WholeFile(spec), $"no record fits max_length {section.MaxLength}");
        var r = loaded.Report;
        log($"{name} data: {spec} ({loaded.Format.ToString().ToLowerInvariant()}): {r.RecordsRead} records, "
            + $"{r.RecordsUsed} used, {r.RecordsReported} reported; {trees.Count} prompts with {trees[0].Count} "
            + $"response(s) each; truncated: prompt {r.PromptTruncated}, completion {r.CompletionTruncated}");
        foreach (var (issue, count) in r.Counts)
            log($"  {RecordIssues.Name(issue)}: {count} (first: {r.Examples[issue][0]})");
        return trees;
    }

    /// <summary>Unpaired examples for KTO: records with prompt/completion/label, or pairs split into one desirable and one undesirable example.</summary>
    public (List<TokenizedUnpaired> Train, List<TokenizedUnpaired> Eval) Unpaired()
    {
        var train = LoadUnpaired(TrainSpec);
        if (section.Eval is { } evalSpec) return (train, LoadUnpaired(evalSpec));
        return Split(train, x => x.Example.Source);
    }

    private List<TokenizedUnpaired> LoadUnpaired(string spec)
    {
        var pt = new PairTokenizer(tokenizer, Tokenization);
        var loaded = PreferenceDataLoader.Load(spec, Options);
        var examples = loaded.Unpaired.Count > 0 ? loaded.Unpaired : Unpairing.Split(loaded.Pairs);
        var items = new List<TokenizedUnpaired>();
        foreach (var e in examples)
        {
            if (pt.TryTokenize(e, out var problem) is { } t) items.Add(t);
            else if (section.OnBadRecord == BadRecordPolicy.Fail) throw new DataException(e.Source, problem!.Detail);
            else loaded.Report.Add(problem!);
        }
        log($"data: {spec} ({loaded.Format.ToString().ToLowerInvariant()}, as unpaired examples): {items.Count} examples");
        foreach (var line in loaded.Report.ToText().Split('\n', StringSplitOptions.RemoveEmptyEntries)) log("  " + line);
        return items;
    }

    private (List<T> Train, List<T> Eval) Split<T>(IReadOnlyList<T> items, Func<T, SourceLocation> source)
    {
        if (section.EvalFraction is < 0 or >= 1 || double.IsNaN(section.EvalFraction))
            throw new ConfigException($"data.eval_fraction: must be in [0, 1), got {section.EvalFraction}");
        return DataSplit.TrainEval(items, source, section.EvalFraction, unchecked((int)seed));
    }
}
