using System.Diagnostics;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Runs;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Experiments;

/// <summary>
/// One measurement of a learned reward on one test split after some training steps.
/// </summary>
/// <param name="Model"><c>dporm</c> (DPO's implicit reward β(log π - log π_ref)) or <c>exrm</c> (the reward model).</param>
/// <param name="Beta">DPO's β (NaN for the reward model).</param>
/// <param name="Step">Optimizer steps taken.</param>
/// <param name="Split">The test split's name (<see cref="ReviewSplits.Name"/>).</param>
/// <param name="Accuracy">Preference accuracy against the ground-truth reward (<see cref="GroundTruthAccuracy"/>).</param>
/// <param name="StandardError">Its binomial standard error.</param>
/// <param name="Pairs">Pairs counted (distinct ground-truth rewards).</param>
public sealed record RewardAccuracyPoint(string Model, double Beta, int Step, string Split, double Accuracy,
    double StandardError, int Pairs)
{
    /// <summary>The row label in reports: "DPORM (DPO β=0.1)" or "EXRM (reward model)".</summary>
    public string Label => Model == "exrm" ? "EXRM (reward model)" : FormattableString.Invariant($"DPORM (DPO β={Beta:0.###})");
}

/// <summary>Everything the experiment measured, and where its files are.</summary>
/// <param name="Points">Every measurement, in the order taken.</param>
/// <param name="LabelAgreement">Share of training pairs whose (noisy) label agrees with the ground-truth order.</param>
/// <param name="Markdown">The markdown report's path.</param>
/// <param name="Json">The JSON report's path.</param>
/// <param name="Seconds">Total wall time.</param>
public sealed record RewardGeneralizationResult(IReadOnlyList<RewardAccuracyPoint> Points, double LabelAgreement,
    string Markdown, string Json, double Seconds);

/// <summary>
/// DPORM vs EXRM (Lin et al. 2024, "On the Limited Generalization Capability of the Implicit Reward Model Induced by
/// Direct Preference Optimization", https://arxiv.org/abs/2409.03650) on the review task: from the frontier's base
/// model, DPO and an explicit Bradley-Terry reward model are trained on the same pairs (written from
/// <see cref="ReviewSplit.Seen"/>, labelled by a Bradley-Terry draw on the ground-truth reward), with the same steps
/// and batch, through the composition root (<see cref="RunBuilder.Build"/>, <see cref="RunBuilder.BuildReward"/>).
/// Along training, each one's preference accuracy against the ground-truth order is measured on fresh pairs of every
/// <see cref="ReviewSplit"/>: in distribution, with unseen prompts, with unseen sentiment words, and with both.
/// </summary>
public static class RewardGeneralizationExperiment
{
    /// <summary>Runs the experiment into <paramref name="outputDir"/>; <paramref name="log"/> receives progress lines.</summary>
    public static RewardGeneralizationResult Run(RewardGeneralizationOptions o, string outputDir, Action<string> log)
    {
        o.Validate();
        var f = o.Frontier;
        if (f.Threads > 0) torch.set_num_threads(f.Threads);
        // One experiment per folder: its lock refuses a second live experiment here; the runs inside are replaced.
        using var folder = RunFolder.Lock(outputDir, log);
        var clock = Stopwatch.StartNew();
        void Log(string line) => log(FormattableString.Invariant($"[{clock.Elapsed.TotalSeconds,6:0.0}s] {line}"));

        // 1. The frontier's base model (policy start, DPO's reference, and the reward model's decoder).
        var tokenizer = RunTokenizer.Load(RunTokenizer.Byte);
        var (baseHf, _) = FrontierExperiment.EnsureBase(f, outputDir, tokenizer, Log);
        using var baseModel = FrontierExperiment.LoadBase(f, outputDir, tokenizer);
        int maxLength = baseModel.Config.MaxPositions;

        // 2. Training pairs from the seen part of the task; test pairs from every split, scored by the ground truth.
        // Folder names differ from the frontier's (data/, runs/<objective>-...), so the two may share an --out folder.
        var dataDir = Path.Combine(outputDir, "pairs");
        var labeler = new BradleyTerryLabeler(ReviewReward.Default, f.LabelScale);
        var train = Pairs(ReviewSplit.Seen, o.TrainPairs, f.Seed + 1, labeler);
        string trainPath = Path.Combine(dataDir, "train.jsonl");
        PreferenceJsonlWriter.Write(trainPath, train);
        double agreement = train.Average(p => p.Extras["chosen_score"] > p.Extras["rejected_score"] ? 1.0 : 0.0);
        var pairTokenizer = new PairTokenizer(tokenizer, TokenizationOptions.WithHalfPrompt(maxLength));
        var tests = ReviewSplits.All.Select((split, k) =>
        {
            var pairs = Pairs(split, o.EvalPairs, f.Seed + 100 + k, labeler);
            PreferenceJsonlWriter.Write(Path.Combine(dataDir, $"test-{split.Name()}.jsonl"), pairs);
            return new TestSet(split.Name(), [.. pairs.Select(pairTokenizer.Tokenize)]);
        }).ToList();
        Log(FormattableString.Invariant(
            $"pairs: {train.Count} train (seen subjects and words; label agrees with the ground truth in {agreement:P0}), ")
            + string.Join(", ", tests.Select(t => $"{t.Pairs.Count} {t.Name}")) + " test");

        // 3. EXRM: the reward trainer on the training pairs, measured along training.
        var points = new List<RewardAccuracyPoint>();
        void Record(IEnumerable<RewardAccuracyPoint> measured, string label)
        {
            var list = measured.ToList();
            points.AddRange(list);
            Log($"{label} step {list[0].Step}/{f.Steps}: " + string.Join(", ",
                list.Select(p => FormattableString.Invariant($"{p.Split} {p.Accuracy:0.000}"))));
        }
        var rmSettings = f with { RewardSteps = f.Steps };
        var rmConfig = FrontierRl.RewardConfig(rmSettings, baseHf, trainPath, maxLength,
            Path.Combine(outputDir, "runs", "exrm"), f.EvalEvery);
        PreparedRun? rm = null;
        using (var rmFolder = RunFolder.Claim(rmConfig, RunFolderMode.Overwrite, false, _ => { })) // redone each time
        using (var run = rm = RunBuilder.BuildReward(rmConfig, new StepObserver(step =>
        {
            var scorer = new RewardModelScorer(rm!.Head!, tokenizer, pairTokenizer.Options);
            Record(tests.Select(t => t.Measure("exrm", double.NaN, step, rows => scorer.ScoreIds(rows))), "exrm");
        }))) run.TrainIn(rmFolder);

        // 4. DPORM: DPO at each β from the base model with the base model as frozen reference, measured along training.
        foreach (var beta in o.Betas)
        {
            var dpo = new FrontierMethod("dpo", [beta]);
            var config = FrontierExperiment.RunConfigFor(f, dpo, beta, baseHf, trainPath, maxLength,
                Path.Combine(outputDir, "runs", FormattableString.Invariant($"dporm-beta{beta:0.###}")));
            PreparedRun? built = null;
            string label = FormattableString.Invariant($"dporm β={beta:0.###}");
            using var dpoFolder = RunFolder.Claim(config, RunFolderMode.Overwrite, false, _ => { }); // redone each time
            using var run = built = RunBuilder.Build(config, new StepObserver(step =>
                Record(tests.Select(t => t.Measure("dporm", beta, step,
                    rows => ImplicitRewards(built!.Policy, baseModel, rows, beta))), label)));
            run.TrainIn(dpoFolder);
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var (markdown, json) = RewardGeneralizationReport.Write(outputDir, o, points, agreement, seconds);
        Log($"wrote {markdown}, {json}");
        return new RewardGeneralizationResult(points, agreement, markdown, json, seconds);
    }

    /// <summary>
    /// <paramref name="count"/> pairs written from <paramref name="split"/>: a prompt and two completions of independent
    /// uniform moods, labelled by <paramref name="labeler"/> (pairs of identical completions are dropped).
    /// </summary>
    internal static IReadOnlyList<PreferenceExample> Pairs(ReviewSplit split, int count, int seed, BradleyTerryLabeler labeler)
    {
        var generator = ReviewGenerator.For(split);
        var prompts = generator.Prompts(count, seed);
        var rng = new Random(seed + 1);
        var first = new List<string>(count);
        var second = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            first.Add(generator.Completion(rng, rng.NextDouble() * 2 - 1));
            second.Add(generator.Completion(rng, rng.NextDouble() * 2 - 1));
        }
        return labeler.Label(prompts, first, second, seed + 2, $"{split.Name()}.jsonl");
    }

    /// <summary>DPO's implicit reward β(log π(y|x) - log π_ref(y|x)) of each row (summed over the completion's tokens).</summary>
    internal static IReadOnlyList<double> ImplicitRewards(CausalLM policy, CausalLM reference,
        IReadOnlyList<(int[] Prompt, int[] Completion)> rows, double beta)
    {
        var prompts = rows.Select(r => r.Prompt).ToList();
        var completions = rows.Select(r => r.Completion).ToList();
        bool wasTraining = policy.training;
        policy.eval();
        try
        {
            var logps = CompletionLogProbs.Compute(policy, prompts, completions);
            var refLogps = CompletionLogProbs.Compute(reference, prompts, completions);
            return [.. logps.Select((p, i) => beta * (p - refLogps[i]))];
        }
        finally
        {
            policy.train(wasTraining);
        }
    }

    /// <summary>A named test split: tokenized pairs whose examples carry their ground-truth rewards.</summary>
    private sealed record TestSet(string Name, IReadOnlyList<TokenizedPair> Pairs)
    {
        /// <summary>Accuracy of <paramref name="score"/> (one reward per tokenized row) against the ground truth.</summary>
        public RewardAccuracyPoint Measure(string model, double beta, int step,
            Func<IReadOnlyList<(int[] Prompt, int[] Completion)>, IReadOnlyList<double>> score)
        {
            using var noGrad = torch.no_grad();
            var chosen = score([.. Pairs.Select(p => (p.Prompt, p.Chosen))]);
            var rejected = score([.. Pairs.Select(p => (p.Prompt, p.Rejected))]);
            var result = GroundTruthAccuracy.Compute(chosen, rejected,
                [.. Pairs.Select(p => p.Example.Extras["chosen_score"])], [.. Pairs.Select(p => p.Example.Extras["rejected_score"])]);
            return new RewardAccuracyPoint(model, beta, step, Name, result.Accuracy, result.StandardError, result.Count);
        }
    }

    /// <summary>Calls <paramref name="measure"/> at each logging step of a trainer (the model is in its post-step state).</summary>
    private sealed class StepObserver(Action<int> measure) : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) => measure(step);

        public void OnMessage(string message) { }
    }
}
