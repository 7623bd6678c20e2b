using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Experiments;
using AlignSharp.Tasks;
using AlignSharp.Tests.Cli;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Experiments;

/// <summary>
/// Runs the test-sized DPORM-vs-EXRM experiment once through the CLI (in the "Console" collection: it redirects the
/// console), with --threads 0 so it never changes libtorch's process-wide thread count under parallel tests.
/// </summary>
public sealed class RewardsRunFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("alignsharp-rewards-").FullName;

    public (int Code, string Out, string Err) Result { get; }

    public RewardsRunFixture() =>
        Result = CliConsole.Run("experiment", "rewards", "--preset", "test", "--out", Dir, "--threads", "0");

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

[Collection("Console")]
public sealed class RewardsExperimentCommandTests(RewardsRunFixture run) : IClassFixture<RewardsRunFixture>
{
    private static readonly RewardGeneralizationOptions Preset = RewardGeneralizationOptions.Test;
    private static readonly string[] Splits = ["seen", "unseen_subjects", "unseen_words", "unseen"];

    private JsonArray Points() => JsonNode.Parse(File.ReadAllText(Path.Combine(run.Dir, "rewards.json")))!["points"]!.AsArray();

    private double FinalAccuracy(string model, string split) => Points()
        .Where(p => (string)p!["model"]! == model && (string)p["split"]! == split)
        .MaxBy(p => (int)p!["step"]!)!["accuracy"]!.GetValue<double>();

    [Fact]
    public void The_command_succeeds_and_reports_both_models_on_every_split_along_training()
    {
        Assert.True(run.Result.Code == 0, run.Result.Err);
        Assert.Contains("exrm step 48/48: seen", run.Result.Out);
        Assert.Contains("dporm β=0.1 step 48/48: seen", run.Result.Out);
        var points = Points();
        int evals = Preset.Frontier.Steps / Preset.Frontier.EvalEvery;
        Assert.Equal((1 + Preset.Betas.Count) * evals * Splits.Length, points.Count);
        foreach (var model in new[] { "exrm", "dporm" })
            foreach (var split in Splits)
                Assert.Equal(evals, points.Count(p => (string)p!["model"]! == model && (string)p["split"]! == split));
        Assert.All(points, p => Assert.InRange(p!["pairs"]!.GetValue<int>(), Preset.EvalPairs * 9 / 10, Preset.EvalPairs));
        var md = File.ReadAllText(Path.Combine(run.Dir, "rewards.md"));
        Assert.Contains("| model | step | seen | unseen_subjects | unseen_words | unseen |", md);
        Assert.Contains("| EXRM (reward model) | 48 |", md);
        Assert.Contains("| DPORM (DPO β=0.1) | 48 |", md);
        Assert.Empty(Directory.GetFileSystemEntries(run.Dir, "*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Both_rewards_beat_chance_in_distribution_against_the_ground_truth()
    {
        // 128 test pairs: chance is 0.5 with a standard error of about 0.044; both are well above it on this run.
        Assert.True(FinalAccuracy("exrm", "seen") > 0.58, $"EXRM {FinalAccuracy("exrm", "seen"):F3}");
        Assert.True(FinalAccuracy("dporm", "seen") > 0.58, $"DPORM {FinalAccuracy("dporm", "seen"):F3}");
    }

    [Fact]
    public void The_reported_accuracies_are_those_of_the_saved_models_on_the_written_test_pairs()
    {
        var tokenizer = new ByteTokenizer();
        using var reference = HfCheckpoint.Load(Path.Combine(run.Dir, "base", "hf")).Model;
        using var policy = HfCheckpoint.Load(Path.Combine(run.Dir, "runs", "dporm-beta0.1", "final")).Model;
        using var rewardModel = RewardModelFolder.Load(Path.Combine(run.Dir, "runs", "exrm", "final"));
        var pairTokenizer = new PairTokenizer(tokenizer, TokenizationOptions.WithHalfPrompt(reference.Config.MaxPositions));
        var scorer = new RewardModelScorer(rewardModel, tokenizer, pairTokenizer.Options);
        foreach (var split in new[] { "seen", "unseen_words" })
        {
            var pairs = PreferenceDataLoader.Load(Path.Combine(run.Dir, "pairs", $"test-{split}.jsonl")).Pairs;
            // Written from the split: the training pairs' subjects never open an unseen-subject prompt, etc.
            var truthChosen = pairs.Select(p => p.Extras["chosen_score"]).ToList();
            var truthRejected = pairs.Select(p => p.Extras["rejected_score"]).ToList();
            var exrm = GroundTruthAccuracy.Compute(scorer.Score([.. pairs.Select(p => (p.Prompt, p.Chosen))]),
                scorer.Score([.. pairs.Select(p => (p.Prompt, p.Rejected))]), truthChosen, truthRejected);
            Assert.Equal(FinalAccuracy("exrm", split), exrm.Accuracy, 12);

            // DPO's implicit reward, by hand: β (log π - log π_ref) summed over each completion's tokens.
            var tokenized = pairs.Select(pairTokenizer.Tokenize).ToList();
            var prompts = tokenized.Select(t => t.Prompt).ToList();
            double[] Reward(IReadOnlyList<int[]> completions)
            {
                var pi = CompletionLogProbs.Compute(policy, prompts, completions);
                var pr = CompletionLogProbs.Compute(reference, prompts, completions);
                return [.. pi.Select((x, i) => 0.1 * (x - pr[i]))];
            }
            var dporm = GroundTruthAccuracy.Compute(Reward([.. tokenized.Select(t => t.Chosen)]),
                Reward([.. tokenized.Select(t => t.Rejected)]), truthChosen, truthRejected);
            Assert.Equal(FinalAccuracy("dporm", split), dporm.Accuracy, 12);
        }
    }

    [Fact]
    public void Training_pairs_cover_only_the_seen_part_of_the_task()
    {
        var seen = ReviewLexicon.Default.Restrict(ReviewSplit.Seen);
        var unseenWords = ReviewLexicon.Default.Restrict(ReviewSplit.Unseen).Sentiment.Keys.ToHashSet();
        var train = PreferenceDataLoader.Load(Path.Combine(run.Dir, "pairs", "train.jsonl")).Pairs;
        Assert.True(train.Count >= Preset.TrainPairs * 9 / 10);
        Assert.All(train, p => Assert.Contains(p.Prompt[ReviewGenerator.PromptPrefix.Length..], seen.Subjects));
        Assert.All(train, p => Assert.DoesNotContain(p.Chosen.Split(' ').Concat(p.Rejected.Split(' ')), unseenWords.Contains));
    }

    [Fact]
    public void An_unknown_preset_is_a_one_line_error()
    {
        var (code, _, err) = CliConsole.Run("experiment", "rewards", "--preset", "full", "--out", run.Dir);
        Assert.Equal(1, code);
        Assert.Equal("error: unknown preset 'full' (known: test, quick)", err.Trim());
    }
}
