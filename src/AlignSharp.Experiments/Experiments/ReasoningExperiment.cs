using System.Diagnostics;
using System.Globalization;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Generation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Experiments;

/// <summary>One evaluated model of the reasoning experiment: the base, or a method after training on one replicate.</summary>
/// <param name="Method">"base" or a method id (<see cref="ReasoningOptions.AllMethods"/>).</param>
/// <param name="Replicate">Replicate index (0 for the base).</param>
/// <param name="Pairs">Training pairs of the run (0 for the base).</param>
/// <param name="Greedy">Checker scores of greedy solutions of the held-out problems.</param>
/// <param name="Sampled">Checker scores of solutions sampled at temperature 1.</param>
/// <param name="Loss">Mean training loss of the last logged steps (NaN for the base).</param>
/// <param name="Accuracy">Mean <c>rewards/accuracies</c> of the last logged steps (NaN for the base).</param>
/// <param name="Seconds">Wall time since the experiment started.</param>
public sealed record ReasoningPoint(string Method, int Replicate, int Pairs, ReasoningScore Greedy,
    ReasoningScore Sampled, double Loss, double Accuracy, double Seconds);

/// <summary>Paths of the files the reasoning experiment wrote.</summary>
public sealed record ReasoningFiles(string Png, string Markdown, string Json, string TokenRewardsPng);

/// <summary>Everything the reasoning experiment measured, where its files are, and its wall time.</summary>
public sealed record ReasoningResult(IReadOnlyList<ReasoningPoint> Points, ReasoningFiles Files, double Seconds);

/// <summary>
/// Whole-solution DPO vs Step-DPO vs SCDPO on a verifiable reasoning task: a byte-level model fine-tuned (SFT) on
/// solved arithmetic word problems is the base; per replicate, solutions sampled from it on training problems are
/// checked, and each method's pairs are built from them (<see cref="ReasoningPairs"/>); each method trains from the
/// base with the base as reference, and is scored by the checker on held-out problems (final-answer accuracy,
/// per-step accuracy, fully correct solutions; greedy and sampled).
/// </summary>
/// <remarks>
/// The three losses are DPO's on different tokens (spec objectives-tokenlevel.md): <c>step_dpo</c> on the next step
/// after a correct prefix, <c>scdpo</c> on the rest after a shared correct prefix (its step-controlled pairs mixed with
/// whole-solution ones), <c>dpo</c> on whole solutions. All run at one β, learning rate, batch and step count, so the
/// methods differ in their pairs only.
/// </remarks>
public static class ReasoningExperiment
{
    /// <summary>Runs the experiment into <paramref name="outputDir"/>; <paramref name="log"/> receives progress.</summary>
    public static ReasoningResult Run(ReasoningOptions o, string outputDir, Action<string> log)
    {
        o.Validate();
        if (o.Threads > 0) torch.set_num_threads(o.Threads);
        // One experiment per folder: its lock refuses a second live experiment here (each run locks its own folder).
        using var folder = RunFolder.Lock(outputDir, log);
        var clock = Stopwatch.StartNew();
        void Log(string line) => log(FormattableString.Invariant($"[{clock.Elapsed.TotalSeconds,6:0.0}s] {line}"));

        var tokenizer = RunTokenizer.Load(RunTokenizer.Byte);
        var generator = new ArithmeticGenerator(o.MaxEvents);
        Log($"preset {o.Preset}: arithmetic with up to {o.MaxEvents} steps; base model d={o.Hidden}, {o.Layers} "
            + $"layer(s), SFT {o.PretrainSteps} steps on {o.CorpusSize} solved problems; {o.Seeds} replicate(s)");
        var corpus = generator.Corpus(o.CorpusSize, o.Seed);
        string baseHf = EnsureBase(o, corpus, outputDir, Log);
        using var baseModel = LoadFrozen(baseHf, o);

        // Held-out problems: none in the SFT corpus.
        var seen = corpus.Select(t => t[..(t.IndexOf('?') + 1)]).ToHashSet(StringComparer.Ordinal);
        var evalProblems = generator.Problems(o.EvalProblems * 2, o.Seed + 101)
            .Where(p => seen.Add(p.Prompt)).Take(o.EvalProblems).ToList();
        var points = new List<ReasoningPoint> { Evaluate("base", 0, 0, baseModel, double.NaN, double.NaN) };
        Log(Describe(points[0]));
        // token_rewards of the first replicate's policies on one held-out problem: its solution, and a slip carried on.
        var shown = evalProblems.OrderByDescending(p => p.Steps.Count).First();
        int slip = shown.Steps.Count / 2;
        string slipped = ArithmeticSteps.WithCarriedError(shown, slip);
        var tokenRows = new List<TokenRewardRow>();

        for (int r = 0; r < o.Seeds; r++)
        {
            int seed = o.Seed + 1000 * (r + 1);
            var train = generator.Problems(o.TrainProblems * 2, seed).Where(p => !seen.Contains(p.Prompt))
                .DistinctBy(p => p.Prompt).Take(o.TrainProblems).ToList();
            string dataDir = Path.Combine(outputDir, "data", $"replicate-{r}");
            var files = BuildPairs(o, baseModel, tokenizer, train, seed, dataDir, Log);
            foreach (var method in o.Methods)
            {
                var (file, count) = files[method];
                var config = RunConfigFor(o, method, baseHf, file, seed,
                    Path.Combine(outputDir, "runs", $"{method}-replicate-{r}"));
                if (Directory.Exists(config.OutputDir)) Directory.Delete(config.OutputDir, true); // retrain from base
                var observer = new LossObserver();
                using var run = RunBuilder.Build(config, observer);
                run.Train();
                var policy = run.Policy;
                policy.eval();
                var point = Evaluate(method, r, count, policy, observer.Tail("loss"), observer.Tail("rewards/accuracies"));
                points.Add(point);
                Log(Describe(point));
                if (r > 0) continue;
                tokenRows.Add(TokenRewardPicture.Compute($"{method}: correct", policy, baseModel, tokenizer,
                    shown.Prompt, shown.Solution, o.Beta));
                tokenRows.Add(TokenRewardPicture.Compute($"{method}: slip at step {slip + 1}", policy, baseModel,
                    tokenizer, shown.Prompt, slipped, o.Beta));
            }
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var written = ReasoningReport.Write(outputDir, o, points, seconds);
        TokenRewardPicture.Write(written.TokenRewardsPng, $"token_rewards, replicate 0, \"{shown.Prompt}\"", tokenRows);
        Log($"wrote {written.Png}, {written.Markdown}, {written.Json}, {written.TokenRewardsPng}");
        return new ReasoningResult(points, written, seconds);

        ReasoningPoint Evaluate(string method, int replicate, int pairs, CausalLM model, double loss, double accuracy)
        {
            var prompts = evalProblems.Select(p => p.Prompt).ToList();
            var greedy = Solve(model, tokenizer, prompts, 1, 0, o.MaxNewTokens, o.Seed + 202);
            var sampled = Solve(model, tokenizer, prompts, o.EvalSamples, 1.0, o.MaxNewTokens, o.Seed + 303);
            var repeated = evalProblems.SelectMany(p => Enumerable.Repeat(p, o.EvalSamples)).ToList();
            return new ReasoningPoint(method, replicate, pairs, ReasoningScore.Of(evalProblems, greedy),
                ReasoningScore.Of(repeated, sampled), loss, accuracy, clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>
    /// Samples solutions of <paramref name="train"/> from the base model, builds each method's pairs and writes them
    /// (<c>dpo.jsonl</c> explicit; <c>step_dpo.jsonl</c>, <c>scdpo.jsonl</c> in the steps format). Returns each
    /// method's file and pair count.
    /// </summary>
    private static Dictionary<string, (string File, int Count)> BuildPairs(ReasoningOptions o, CausalLM model,
        ITokenizer tokenizer, IReadOnlyList<ArithmeticProblem> train, int seed, string dir, Action<string> log)
    {
        var samples = Solve(model, tokenizer, [.. train.Select(p => p.Prompt)], o.SamplesPerProblem, 1.0,
            o.MaxNewTokens, seed + 1);
        var whole = new List<ReasoningPair>();
        var nextStep = new List<ReasoningPair>();
        int wrong = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            var problem = train[i / o.SamplesPerProblem];
            if (ReasoningPairs.Whole(problem, samples[i]) is not { } pair) continue;
            wrong++;
            whole.Add(pair);
            if (ReasoningPairs.NextStep(problem, samples[i]) is { } step) nextStep.Add(step);
        }

        // SCDPO: keep the first k correct steps (k uniform in 0..equations), regenerate the rest until it is wrong.
        var rng = new Random(seed + 2);
        var kept = train.Select(p => rng.Next(p.Steps.Count + 1)).ToList();
        var starts = train.Select((p, i) => p.Prompt + string.Concat(ArithmeticSteps.Correct(p).Take(kept[i]))).ToList();
        var regenerated = Solve(model, tokenizer, starts, o.Regenerations, o.RegenerationTemperature,
            o.MaxNewTokens, seed + 3);
        var controlled = new List<ReasoningPair>();
        for (int i = 0; i < train.Count; i++)
            for (int a = 0; a < o.Regenerations; a++)
                if (ReasoningPairs.Suffix(train[i], kept[i], regenerated[i * o.Regenerations + a]) is { } pair)
                {
                    controlled.Add(pair);
                    break;
                }

        whole = ReasoningPairs.Distinct(whole);
        nextStep = ReasoningPairs.Distinct(nextStep);
        var scdpo = ReasoningPairs.Distinct([.. whole, .. controlled]);
        log(FormattableString.Invariant($"replicate data: {samples.Count} samples of {train.Count} problems, ") +
            FormattableString.Invariant($"{wrong} with a wrong final answer; pairs: dpo {whole.Count}, step_dpo ") +
            FormattableString.Invariant($"{nextStep.Count}, scdpo {scdpo.Count} ({controlled.Count} step-controlled)"));
        var files = new Dictionary<string, (string, int)>();
        foreach (var (method, pairs, asSteps) in new[] { ("dpo", whole, false), ("step_dpo", nextStep, true),
                     ("scdpo", scdpo, true) })
        {
            if (pairs.Count == 0) throw new ExperimentException($"no {method} pair could be built; sample more problems");
            string path = Path.Combine(dir, $"{method}.jsonl");
            ReasoningPairs.Write(path, pairs, asSteps);
            files[method] = (path, pairs.Count);
        }
        return files;
    }

    /// <summary>
    /// <paramref name="copies"/> solutions of every prompt (prompt-major), greedy at temperature 0, else sampled,
    /// seeded by <paramref name="seed"/>.
    /// </summary>
    private static List<string> Solve(CausalLM model, ITokenizer tokenizer, IReadOnlyList<string> prompts, int copies,
        double temperature, int maxNewTokens, long seed)
    {
        using var noGrad = torch.no_grad();
        var rows = prompts.SelectMany(p => Enumerable.Repeat<IReadOnlyList<int>>(PolicySamples.EncodePrompt(tokenizer, p),
            temperature == 0 ? 1 : copies)).ToList();
        using var rng = new torch.Generator((ulong)seed, model.parameters().First().device);
        var options = new GenerationOptions
        {
            MaxNewTokens = maxNewTokens, Temperature = temperature, BatchSize = 64,
            EosTokenIds = tokenizer.EosId is { } eos ? [eos] : [], PadTokenId = PadRule.IdFor(tokenizer),
        };
        return [.. TextGenerator.Generate(model, rows, options, rng).Select(g => PolicySamples.DecodeCompletion(tokenizer, g.Tokens))];
    }

    /// <summary>
    /// The SFT base in <c>&lt;outputDir&gt;/base/hf</c>: a fresh byte-level GPT-2 trained by next-token prediction on
    /// BOS + problem + solution + EOS (the frontier's base recipe, on the arithmetic corpus), or reused when the
    /// folder's fingerprint matches the settings.
    /// </summary>
    private static string EnsureBase(ReasoningOptions o, IReadOnlyList<string> corpus, string outputDir, Action<string> log)
    {
        string dir = Path.Combine(outputDir, "base"), hf = Path.Combine(dir, "hf"), stamp = Path.Combine(dir, "fingerprint.txt");
        string fingerprint = FormattableString.Invariant(
            $"task=arithmetic events={o.MaxEvents} seed={o.Seed} hidden={o.Hidden} layers={o.Layers} ") +
            FormattableString.Invariant($"corpus={o.CorpusSize} steps={o.PretrainSteps} batch={o.PretrainBatch} ") +
            FormattableString.Invariant($"lr={o.PretrainLearningRate} positions={Positions(o)}");
        if (File.Exists(stamp) && File.ReadAllText(stamp).Trim() == fingerprint)
        {
            log($"base model: reusing {hf}");
            return hf;
        }
        int every = Math.Max(1, o.PretrainSteps / 5);
        var config = new RunConfig
        {
            Model = new ModelSection { HiddenSize = o.Hidden, NumLayers = o.Layers, NumHeads = 4, MaxPositions = Positions(o) },
            Tokenizer = RunTokenizer.Byte,
            Training = new TrainingOptions
            {
                MaxSteps = o.PretrainSteps, BatchSize = o.PretrainBatch, LearningRate = o.PretrainLearningRate,
                WarmupSteps = Math.Max(1, o.PretrainSteps / 20), Schedule = ScheduleKind.Cosine, WeightDecay = 0.01,
                Seed = o.Seed, Threads = o.Threads,
            },
            OutputDir = dir,
        };
        using var model = RunBuilder.TrainLanguageModel(config, corpus, (step, loss) =>
        {
            if (step % every == 0 || step == o.PretrainSteps)
                log(FormattableString.Invariant($"base model SFT step {step}/{o.PretrainSteps}: nll/token {loss:0.000}"));
        });
        HfCheckpoint.Save(model, hf);
        AtomicFile.WriteAllText(stamp, fingerprint); // written last: it marks the folder complete
        return hf;
    }

    /// <summary>
    /// Positions for the longest prompt the task writes (with BOS), a whole correct solution in it (SCDPO regenerates
    /// after a prefix of one), and the sampling limit.
    /// </summary>
    private static int Positions(ReasoningOptions o)
    {
        // The longest texts: the longest names, every event "gets 9 more" (the counts grow to two digits).
        var longest = new ArithmeticProblem("ann", "apples", 9,
            [.. Enumerable.Repeat(new ArithmeticEvent("ann", "gets", 9), o.MaxEvents)]);
        return 1 + longest.Prompt.Length + longest.Solution.Length + o.MaxNewTokens;
    }

    private static CausalLM LoadFrozen(string hf, ReasoningOptions o)
    {
        var config = new RunConfig { Model = new ModelSection { Path = hf }, Tokenizer = RunTokenizer.Byte, Training = new TrainingOptions { Threads = o.Threads } };
        var model = RunBuilder.Load(hf, ComputeTarget.From(config)).Model;
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
        return model;
    }

    /// <summary>One method's run: the base as policy start and frozen reference, on the method's pairs.</summary>
    private static RunConfig RunConfigFor(ReasoningOptions o, string method, string baseHf, string data, int seed,
        string dir) => new()
    {
        Model = new ModelSection { Path = baseHf },
        Tokenizer = RunTokenizer.Byte,
        Data = new DataSection { Train = data, MaxLength = Positions(o) },
        Objectives = [new ObjectiveSpec(method, 1.0,
            new Dictionary<string, string> { ["beta"] = o.Beta.ToString("R", CultureInfo.InvariantCulture) },
            $"method '{method}'")],
        Reference = ReferenceKind.Frozen,
        Training = new TrainingOptions
        {
            BatchSize = o.Batch, MaxSteps = o.Steps, LearningRate = o.LearningRate,
            WarmupSteps = Math.Max(1, o.Steps / 10), Schedule = ScheduleKind.Constant,
            LoggingSteps = Math.Max(1, o.Steps / 8), Seed = seed, SaveSteps = 0, SaveTotalLimit = 1, Threads = o.Threads,
        },
        OutputDir = dir,
    };

    private static string Describe(ReasoningPoint p) => FormattableString.Invariant(
        $"{p.Method}{(p.Method == "base" ? "" : $" replicate {p.Replicate} ({p.Pairs} pairs, loss {p.Loss:0.000})")}: ") +
        FormattableString.Invariant($"greedy final {p.Greedy.Final.Mean:0.000}, steps {p.Greedy.Steps.Mean:0.000}; ") +
        FormattableString.Invariant($"sampled final {p.Sampled.Final.Mean:0.000}, steps {p.Sampled.Steps.Mean:0.000}");

    /// <summary>Keeps the trainer's logged metrics to report the last ones.</summary>
    private sealed class LossObserver : ITrainingObserver
    {
        private readonly List<IReadOnlyDictionary<string, double>> logs = [];

        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) =>
            logs.Add(new Dictionary<string, double>(metrics));

        public void OnMessage(string message) { }

        /// <summary>Mean of <paramref name="key"/> over the last two logs (NaN when never logged).</summary>
        public double Tail(string key)
        {
            var values = logs.Where(l => l.ContainsKey(key)).TakeLast(2).Select(l => l[key]).ToList();
            return values.Count == 0 ? double.NaN : values.Average();
        }
    }
}
