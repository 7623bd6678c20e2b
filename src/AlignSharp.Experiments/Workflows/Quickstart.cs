using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;
using AlignSharp.Training;

namespace AlignSharp.Workflows;

/// <summary>Sizes of the quickstart; the defaults finish in a few minutes on 2 CPU cores.</summary>
public sealed record QuickstartOptions
{
    public int CorpusSize { get; init; } = 3000;
    public int PretrainSteps { get; init; } = 400;
    public int TrainPrompts { get; init; } = 768;
    public int EvalPrompts { get; init; } = 128;
    public int MaxNewTokens { get; init; } = 40;
    public int DpoEpochs { get; init; } = 2;
    public double Beta { get; init; } = 0.1;
    public double DpoLearningRate { get; init; } = 1e-4;
    public int HiddenSize { get; init; } = 64;
    public int NumLayers { get; init; } = 2;
    public long Seed { get; init; } = 1234;
}

/// <summary>One row of the before/after table: mean ground-truth reward of samples, KL to the reference, implicit-reward accuracy.</summary>
public sealed record QuickstartRow(string Model, Estimate Reward, Estimate Kl, double ImplicitAccuracy, double MeanLength);

/// <summary>The quickstart's result: the table and where the trained model went.</summary>
public sealed record QuickstartResult(QuickstartRow Before, QuickstartRow After, int TrainPairs, int EvalPairs, string ModelDir);

/// <summary>
/// The main job on an embedded default, with nothing downloaded: pretrain a tiny byte-level GPT-2 on the generated
/// review corpus (the SFT/base model), sample two completions per prompt and label them with a Bradley-Terry draw on
/// the programmatic ground-truth reward, train DPO against the base model as reference, and compare before/after.
/// Both training stages are run configs built by the composition root (<see cref="RunBuilder"/>).
/// </summary>
public sealed class Quickstart(QuickstartOptions options, string outputDir, ITrainingObserver observer)
{
    /// <summary>Replace the DPO run of an earlier quickstart in the folder (without it, such a folder is refused).</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Runs every stage and returns the before/after table. The output folder is locked for the duration (a second
    /// live quickstart there is refused); a folder holding an earlier quickstart's DPO run is refused unless
    /// <see cref="Overwrite"/> (the pretrained base model is reused either way when its settings match).
    /// </summary>
    /// <exception cref="RunFolderException">The folder is in use, or holds a DPO run and <see cref="Overwrite"/> is off.</exception>
    public QuickstartResult Run()
    {
        var o = options;
        using var folder = RunFolder.Lock(outputDir, observer.OnMessage);
        var dpo = DpoConfig();
        if (!Overwrite && RunFolder.HoldsRun(dpo.OutputDir) is { } what)
            throw new RunFolderException($"{Path.GetFullPath(dpo.OutputDir)} already holds the DPO run of an earlier " +
                $"quickstart ({what}); pass --overwrite to replace it (the base model is reused) or choose another --output");
        using var dpoFolder = RunFolder.Claim(dpo, Overwrite ? RunFolderMode.Overwrite : RunFolderMode.Fresh, false,
            observer.OnMessage);
        var generator = ReviewGenerator.Default;
        string fingerprint = FormattableString.Invariant(
            $"seed={o.Seed} corpus={o.CorpusSize} steps={o.PretrainSteps} hidden={o.HiddenSize} layers={o.NumLayers} tokenizer=byte");
        string fingerprintFile = Path.Combine(BaseDir, "alignsharp_base.txt");
        if (File.Exists(fingerprintFile) && File.ReadAllText(fingerprintFile) == fingerprint)
            observer.OnMessage($"1/4 reusing the pretrained base model in {BaseDir} (same seed and sizes)");
        else
            Pretrain(generator, fingerprint, fingerprintFile);

        var target = ComputeTarget.From(dpo);
        var tokenizer = RunTokenizer.Load(RunTokenizer.SpecOf(dpo));
        using var reference = RunBuilder.Load(BaseDir, target).Model;
        reference.eval();

        observer.OnMessage($"2/4 sampling 2 completions for {o.TrainPrompts + o.EvalPrompts} prompts and labelling them by Bradley-Terry on the ground-truth reward");
        PreferenceJsonlWriter.Write(dpo.Data.Train!, Pairs(reference, tokenizer, generator.Prompts(o.TrainPrompts, (int)o.Seed + 1), o.Seed + 10, "train"));
        PreferenceJsonlWriter.Write(dpo.Data.Eval!, Pairs(reference, tokenizer, generator.Prompts(o.EvalPrompts, (int)o.Seed + 2), o.Seed + 20, "eval"));

        using var run = RunBuilder.Build(dpo, observer);
        var (trainPairs, evalPairs) = (run.Setup.Train, ((PairExamples)run.Setup.Eval).Items);
        var heldOut = generator.Prompts(o.EvalPrompts, (int)o.Seed + 3);
        var before = Row("reference (SFT)", run.Policy, reference, tokenizer, heldOut, evalPairs);
        observer.OnMessage($"3/4 training DPO (beta {o.Beta}) on {trainPairs.Count} pairs; {evalPairs.Count} held-out pairs");
        run.TrainIn(dpoFolder);
        run.Policy.eval();
        observer.OnMessage("4/4 evaluating the DPO policy against the reference");
        var after = Row("DPO policy", run.Policy, reference, tokenizer, heldOut, evalPairs);
        return new QuickstartResult(before, after, trainPairs.Count, evalPairs.Count, run.FinalDir);
    }

    private string BaseDir => Path.Combine(outputDir, "base");

    /// <summary>The pretraining run: a fresh byte-level GPT-2 trained on the review corpus.</summary>
    private RunConfig BaseConfig() => new()
    {
        Model = new ModelSection { HiddenSize = options.HiddenSize, NumLayers = options.NumLayers, NumHeads = 4, MaxPositions = 128 },
        Tokenizer = RunTokenizer.Byte,
        Training = new TrainingOptions
        {
            MaxSteps = options.PretrainSteps, BatchSize = 32, LearningRate = 3e-3, WarmupSteps = 20, Schedule = ScheduleKind.Cosine,
            Seed = options.Seed,
        },
        OutputDir = BaseDir,
    };

    /// <summary>The DPO run: the base model as policy start and cached reference, on the labelled pairs.</summary>
    private RunConfig DpoConfig() => new()
    {
        Model = new ModelSection { Path = BaseDir },
        Tokenizer = RunTokenizer.Byte,
        Data = new DataSection
        {
            Train = Path.Combine(outputDir, "pairs.train.jsonl"), Eval = Path.Combine(outputDir, "pairs.eval.jsonl"), MaxLength = 128,
        },
        Objectives = [new ObjectiveSpec("dpo", 1.0, new Dictionary<string, string> { ["beta"] = Invariant(options.Beta) }, "quickstart")],
        Reference = ReferenceKind.Cached,
        Training = new TrainingOptions
        {
            BatchSize = 16, Epochs = options.DpoEpochs, LearningRate = options.DpoLearningRate, WarmupRatio = 0.1, Seed = options.Seed,
            LoggingSteps = 10, EvalSteps = 0, SaveTotalLimit = 1,
        },
        OutputDir = Path.Combine(outputDir, "dpo"),
    };

    private void Pretrain(ReviewGenerator generator, string fingerprint, string fingerprintFile)
    {
        var o = options;
        observer.OnMessage($"1/4 pretraining a {o.NumLayers}-layer, {o.HiddenSize}-wide byte-level GPT-2 on {o.CorpusSize} generated reviews");
        using var baseModel = RunBuilder.TrainLanguageModel(BaseConfig(), generator.Corpus(o.CorpusSize, (int)o.Seed),
            (s, l) => { if (s % 100 == 0 || s == o.PretrainSteps) observer.OnMessage($"   pretrain step {s}/{o.PretrainSteps}: loss {l:0.000} nats/byte"); });
        Checkpoints.HfCheckpoint.Save(baseModel, BaseDir);
        AtomicFile.WriteAllText(fingerprintFile, fingerprint);
    }

    private List<PreferenceExample> Pairs(CausalLM model, ITokenizer tokenizer, IReadOnlyList<string> prompts, long seed, string name)
    {
        var first = PolicySamples.Draw(model, tokenizer, prompts, options.MaxNewTokens, seed);
        var second = PolicySamples.Draw(model, tokenizer, prompts, options.MaxNewTokens, seed + 1);
        return new BradleyTerryLabeler(ReviewReward.Default).Label(prompts, first.Completions, second.Completions, (int)seed, name)
            .Where(p => p.Chosen.Length > 0 && p.Rejected.Length > 0).ToList();
    }

    private QuickstartRow Row(string name, CausalLM policy, CausalLM reference, ITokenizer tokenizer, IReadOnlyList<string> prompts, IReadOnlyList<TokenizedPair> evalPairs)
    {
        var e = PolicyEvaluation.Run(policy, reference, tokenizer, prompts, ReviewReward.Default, 2, options.MaxNewTokens, options.Seed + 99);
        var acc = ImplicitRewardAccuracy.Compute(policy, reference, evalPairs, options.Beta);
        return new QuickstartRow(name, e.Reward, e.Kl, acc.Accuracy, e.MeanLength);
    }

    private static string Invariant(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
