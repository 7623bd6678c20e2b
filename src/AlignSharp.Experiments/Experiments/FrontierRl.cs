using System.Diagnostics;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Online;
using AlignSharp.Runs;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Experiments;

/// <summary>The frontier's learned reward model: its folder and its held-out preference accuracy.</summary>
/// <param name="Dir">The saved <c>*ForSequenceClassification</c> folder.</param>
/// <param name="LabelAccuracy">Share of held-out pairs whose (noisy, Bradley-Terry) label it ranks first.</param>
/// <param name="GroundTruthAccuracy">Share of held-out pairs with distinct ground-truth rewards it orders as the ground truth does.</param>
public sealed record FrontierRewardModel(string Dir, double LabelAccuracy, double GroundTruthAccuracy);

/// <summary>
/// The RLHF half of the frontier (the DPO paper's Figure 2 baselines): a reward model trained by the reward trainer on
/// the frontier's own training pairs (Bradley-Terry, from the base model's decoder, as RLHF starts the reward model
/// from the SFT model), then PPO against it, PPO against the ground-truth reward (PPO-GT) and RLOO against it, each at
/// several KL coefficients from the base model, evaluated along training exactly as the offline runs are (ground-truth
/// reward and KL to the base model from the same held-out samples).
/// </summary>
internal static class FrontierRl
{
    /// <summary>
    /// Trains the reward model into <c>&lt;outputDir&gt;/reward-model</c>, or reuses it when a previous run there had the
    /// same data and settings (its fingerprint file matches), and measures it on the held-out pairs.
    /// </summary>
    public static FrontierRewardModel EnsureRewardModel(FrontierOptions o, string outputDir, string baseHf, string trainData,
        int maxLength, string dataFingerprint, IReadOnlyList<PreferenceExample> heldOut, ITokenizer tokenizer, Action<string> log)
    {
        string dir = Path.Combine(outputDir, "reward-model");
        string fingerprint = FormattableString.Invariant(
            $"{dataFingerprint} steps={o.RewardSteps} lr={o.RewardLearningRate} batch={o.Batch}");
        string fingerprintFile = Path.Combine(dir, "fingerprint.txt");
        if (!(File.Exists(fingerprintFile) && File.ReadAllText(fingerprintFile).Trim() == fingerprint))
        {
            var config = RewardConfig(o, baseHf, trainData, maxLength, dir, Math.Max(1, o.RewardSteps / 4));
            // A reward model of other settings in the folder is replaced (the experiment's folder lock keeps others out).
            using (var folder = RunFolder.Claim(config, RunFolderMode.Overwrite, false, log))
            using (var run = RunBuilder.BuildReward(config, new LogObserver(log))) run.TrainIn(folder);
            AtomicFile.WriteAllLines(fingerprintFile, [fingerprint]);
        }
        else log($"reward model: reused {dir}");
        string final = Path.Combine(dir, "final");
        using var model = RewardModelFolder.Load(final);
        var scorer = new RewardModelScorer(model, tokenizer, TokenizationOptions.WithHalfPrompt(maxLength));
        var chosen = scorer.Score([.. heldOut.Select(p => (p.Prompt, p.Chosen))]);
        var rejected = scorer.Score([.. heldOut.Select(p => (p.Prompt, p.Rejected))]);
        double label = heldOut.Select((_, i) => chosen[i] > rejected[i] ? 1.0 : 0.0).Average();
        double truth = GroundTruthAccuracy.Compute(chosen, rejected, [.. heldOut.Select(p => p.Extras["chosen_score"])],
            [.. heldOut.Select(p => p.Extras["rejected_score"])]).Accuracy;
        return new FrontierRewardModel(final, label, truth);
    }

    /// <summary>
    /// The reward model's run: Bradley-Terry on <paramref name="trainData"/> from the base model's decoder with a fresh
    /// score head, <see cref="FrontierOptions.RewardSteps"/> steps of <see cref="FrontierOptions.Batch"/> pairs at
    /// <see cref="FrontierOptions.RewardLearningRate"/> (constant after a 10 % warm-up), into <paramref name="dir"/>.
    /// </summary>
    internal static RunConfig RewardConfig(FrontierOptions o, string baseHf, string trainData, int maxLength, string dir,
        int loggingSteps) => new()
    {
        Model = new ModelSection { Path = baseHf },
        Tokenizer = RunTokenizer.Byte,
        Data = new DataSection { Train = trainData, MaxLength = maxLength },
        Objectives = [new ObjectiveSpec("bradley_terry", 1.0, new Dictionary<string, string>(), "frontier reward model")],
        Training = new TrainingOptions
        {
            BatchSize = o.Batch, MaxSteps = o.RewardSteps, LearningRate = o.RewardLearningRate,
            WarmupSteps = Math.Max(1, o.RewardSteps / 10), Schedule = ScheduleKind.Constant,
            LoggingSteps = loggingSteps, Seed = o.Seed, SaveSteps = 0, SaveTotalLimit = 1, Threads = o.Threads,
        },
        OutputDir = dir,
    };

    /// <summary>
    /// One RL run (<paramref name="method"/> at <paramref name="klCoef"/>) from a fresh copy of the base model against
    /// <paramref name="optimised"/>, evaluated at step 0 and every <see cref="FrontierOptions.RlEvalEvery"/> rounds.
    /// </summary>
    public static List<FrontierPoint> RunOne(FrontierOptions o, FrontierRlMethod method, double klCoef, CausalLM policy,
        CausalLM baseModel, ITokenizer tokenizer, IRewardFunction optimised, IRewardFunction groundTruth,
        IReadOnlyList<string> trainPrompts, IReadOnlyList<string> evalPrompts, long evalSeed,
        IReadOnlyList<TokenizedPair> evalPairs, PolicyEvaluationResult baseEval, Stopwatch clock, Action<FrontierPoint> report)
    {
        var points = new List<FrontierPoint>
        {
            new(method.Id, klCoef, 0, 0, baseEval.Reward.Mean, baseEval.Reward.StandardError, 0, 0, 0, baseEval.MeanLength,
                double.NaN, clock.Elapsed.TotalSeconds, "kl_coef"),
        };
        void Evaluate(int step, IReadOnlyDictionary<string, double> metrics)
        {
            if (step % o.RlEvalEvery != 0 && step != o.RlSteps) return;
            using var noGrad = torch.no_grad();
            bool wasTraining = policy.training;
            policy.eval();
            var eval = PolicyEvaluation.Run(policy, baseModel, tokenizer, evalPrompts, groundTruth, o.SamplesPerPrompt,
                o.MaxNewTokens, evalSeed);
            // Implicit-reward accuracy does not depend on β (> 0): read at β = 1.
            var accuracy = ImplicitRewardAccuracy.Compute(policy, baseModel, evalPairs, 1.0).Accuracy;
            policy.train(wasTraining);
            var p = new FrontierPoint(method.Id, klCoef, 0, step, eval.Reward.Mean, eval.Reward.StandardError, eval.Kl.Mean,
                eval.Kl.StandardError, accuracy, eval.MeanLength, metrics.GetValueOrDefault("loss/policy_avg", double.NaN),
                clock.Elapsed.TotalSeconds, "kl_coef");
            points.Add(p);
            report(p);
        }
        var rl = new RlOptions
        {
            Steps = o.RlSteps, PromptsPerStep = o.RlPromptsPerStep, MaxNewTokens = o.MaxNewTokens,
            LearningRate = o.RlLearningRate, KlCoef = klCoef, PpoEpochs = o.RlPpoEpochs, Seed = o.Seed,
        };
        policy.train();
        if (method.Id == "rloo")
        {
            var options = new RlooOptions { Rl = rl with { PpoEpochs = 1, PromptsPerStep = o.RlPromptsPerStep / o.RlooK }, K = o.RlooK };
            new Rloo(policy, baseModel, tokenizer, optimised, options, groundTruth).Run(trainPrompts, Evaluate);
        }
        else
        {
            using var ppo = new Ppo(policy, baseModel, tokenizer, optimised, new PpoOptions { Rl = rl }, groundTruth);
            ppo.Run(trainPrompts, Evaluate);
        }
        return points;
    }

    /// <summary>Passes the reward trainer's log lines on, one line per logged step.</summary>
    private sealed class LogObserver(Action<string> log) : ITrainingObserver
    {
        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) =>
            log(FormattableString.Invariant(
                $"reward model step {step}/{maxSteps}: loss {metrics.GetValueOrDefault("loss", double.NaN):0.000}, accuracy {metrics.GetValueOrDefault("accuracy", double.NaN):0.00}"));

        public void OnMessage(string message) { }
    }
}
