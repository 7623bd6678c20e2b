using AlignSharp.Checkpoints;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Objectives;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;
using AlignSharp.IO;

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
/// </summary>
public sealed class Quickstart(QuickstartOptions options, string outputDir, ITrainingObserver observer)
{
    /// <summary>Runs every stage and returns the before/after table.</summary>
    public QuickstartResult Run()
    {
        var o = options;
        var tokenizer = new ByteTokenizer();
        var generator = ReviewGenerator.Default;
        var reward = ReviewReward.Default;
        int pad = PadRule.IdFor(tokenizer);

        string fingerprint = FormattableString.Invariant(
            $"seed={o.Seed} corpus={o.CorpusSize} steps={o.PretrainSteps} hidden={o.HiddenSize} layers={o.NumLayers} tokenizer=byte");
        string fingerprintFile = Path.Combine(BaseDir, "alignsharp_base.txt");
        if (File.Exists(fingerprintFile) && File.ReadAllText(fingerprintFile) == fingerprint)
            observer.OnMessage($"1/4 reusing the pretrained base model in {BaseDir} (same seed and sizes)");
        else
            Pretrain(tokenizer, generator, pad, fingerprint, fingerprintFile);

        using var reference = HfCheckpoint.Load(BaseDir).Model;
        using var policy = HfCheckpoint.Load(BaseDir).Model;
        reference.eval();

        observer.OnMessage($"2/4 sampling 2 completions for {o.TrainPrompts + o.EvalPrompts} prompts and labelling them by Bradley-Terry on the ground-truth reward");
        var train = Pairs(reference, tokenizer, generator.Prompts(o.TrainPrompts, (int)o.Seed + 1), o.Seed + 10, "train");
        var eval = Pairs(reference, tokenizer, generator.Prompts(o.EvalPrompts, (int)o.Seed + 2), o.Seed + 20, "eval");
        var pairTokenizer = new PairTokenizer(tokenizer, 128);
        var trainPairs = train.Select(pairTokenizer.Tokenize).ToList();
        var evalPairs = eval.Select(pairTokenizer.Tokenize).ToList();
        PreferenceJsonlWriter.Write(Path.Combine(outputDir, "pairs.train.jsonl"), train);
        PreferenceJsonlWriter.Write(Path.Combine(outputDir, "pairs.eval.jsonl"), eval);

        var heldOut = generator.Prompts(o.EvalPrompts, (int)o.Seed + 3);
        var before = Row("reference (SFT)", policy, reference, tokenizer, heldOut, evalPairs);
        observer.OnMessage($"3/4 training DPO (beta {o.Beta}) on {trainPairs.Count} pairs; {evalPairs.Count} held-out pairs");
        var dpoOptions = new TrainingOptions
        {
            BatchSize = 16, Epochs = o.DpoEpochs, LearningRate = o.DpoLearningRate, WarmupRatio = 0.1, Seed = o.Seed,
            LoggingSteps = 10, EvalSteps = 0, SaveTotalLimit = 1,
        };
        using (var cache = new CachedReference(HfCheckpoint.Load(BaseDir).Model, Path.Combine(outputDir, "reference-cache")))
        {
            cache.Precompute([.. trainPairs, .. evalPairs], dpoOptions.BatchSize, pad);
            observer.OnMessage($"   reference log-probs: {cache.LoadedRows} rows from cache, {cache.Forwards} batches computed; no reference forward during training");
            var setup = new TrainingSetup(policy, cache, new Dpo(o.Beta), trainPairs, evalPairs, pad);
            new PreferenceTrainer(setup, dpoOptions, Path.Combine(outputDir, "dpo"), observer).Run();
        }
        policy.eval();
        observer.OnMessage("4/4 evaluating the DPO policy against the reference");
        var after = Row("DPO policy", policy, reference, tokenizer, heldOut, evalPairs);
        string modelDir = Path.Combine(outputDir, "dpo", "final");
        HfCheckpoint.Save(policy, modelDir);
        return new QuickstartResult(before, after, trainPairs.Count, evalPairs.Count, modelDir);
    }

    private string BaseDir => Path.Combine(outputDir, "base");

    private void Pretrain(ByteTokenizer tokenizer, ReviewGenerator generator, int pad, string fingerprint, string fingerprintFile)
    {
        var o = options;
        observer.OnMessage($"1/4 pretraining a {o.NumLayers}-layer, {o.HiddenSize}-wide byte-level GPT-2 on {o.CorpusSize} generated reviews");
        torch.manual_seed(o.Seed);
        using var baseModel = new Gpt2Model(ModelConfig.TinyGpt2(tokenizer.VocabSize, o.HiddenSize, o.NumLayers, 4, 128));
        var corpus = generator.Corpus(o.CorpusSize, (int)o.Seed)
            .Select(t => new[] { tokenizer.BosId!.Value }.Concat(tokenizer.Encode(t)).Append(tokenizer.EosId!.Value).ToArray()).ToList();
        var lmOptions = new TrainingOptions
        {
            MaxSteps = o.PretrainSteps, BatchSize = 32, LearningRate = 3e-3, WarmupSteps = 20, Schedule = ScheduleKind.Cosine, Seed = o.Seed,
        };
        LanguageModelTrainer.Train(baseModel, corpus, lmOptions, pad,
            (s, l) => { if (s % 100 == 0 || s == o.PretrainSteps) observer.OnMessage($"   pretrain step {s}/{o.PretrainSteps}: loss {l:0.000} nats/byte"); });
        HfCheckpoint.Save(baseModel, BaseDir);
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
}
