using System.Text.Json;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using AlignSharp.Tests.Training;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>
/// TPO on `tree` records and OREO on `outcome` records through the data path (loader, tokenizer, step alignment,
/// N rows per prompt, the trainer's providers) on a tiny byte-level GPT-2: the loss falls and the effect goes the
/// right way (TPO: the best-scored response's implicit reward rises above the lowest-scored one's; OREO: the value
/// head's estimates move toward each solution's outcome reward), so a sign error fails.
/// </summary>
public sealed class ResponseTrainingTests
{
    private const int Records = 8;

    /// <summary>Tree i: a right, a half-right and a wrong two-step answer, not stored best first.</summary>
    private static string TreeRecord(int i)
    {
        int a = i + 2, b = 2 * i + 3;
        return JsonSerializer.Serialize(new
        {
            prompt = $"Q: {a}+{b}?\n",
            responses = new[]
            {
                new[] { $"{b}-{a}", $"= {b - a}" },
                new[] { $"{a}+{b}", $"= {a + b}" },
                new[] { $"{a}+{b}", $"= {a + b + 1}" },
            },
            scores = new[] { 0.0, 1.0, 0.5 },
        });
    }

    /// <summary>Outcome record i: a solution in steps, right (reward 1) for even i, wrong (0) for odd i.</summary>
    private static string OutcomeRecord(int i)
    {
        int a = i + 2, b = 2 * i + 3, answer = i % 2 == 0 ? a + b : a * b + 7;
        return JsonSerializer.Serialize(new
        {
            prompt = $"Q{i}: {a}+{b}=", steps = new[] { $"{a}+{b}", $"= {answer}" }, reward = i % 2 == 0 ? 1 : 0,
        });
    }

    private static (LoadedData Loaded, string Path) Write(string name, IEnumerable<string> lines,
        DataFormat format = DataFormat.Auto)
    {
        string path = System.IO.Path.Combine(TestTemp.Dir("tl-responses"), name + ".jsonl");
        File.WriteAllLines(path, lines);
        return (PreferenceDataLoader.Load(path, new DataOptions { Format = format }), path);
    }

    private static List<TokenizedTree> Tokenize(LoadedData loaded, int maxLength = 96) =>
        new PairTokenizer(new ByteTokenizer(), TokenizationOptions.WithHalfPrompt(maxLength))
            .TokenizeAll(loaded.Trees, loaded.Report);

    private static TrainingOptions Options(int steps, double lr) => new()
    {
        MaxSteps = steps, BatchSize = Records, LearningRate = lr, WarmupSteps = 0, Schedule = ScheduleKind.Constant,
        Seed = 7, LoggingSteps = 1, SaveTotalLimit = 1,
    };

    [Fact]
    public void Tree_responses_are_sorted_best_first_and_each_token_carries_its_step()
    {
        var (loaded, _) = Write("steps", [TreeRecord(0)]);
        var tree = Assert.Single(Tokenize(loaded));
        Assert.Equal([1.0, 0.5, 0.0], tree.Example.Scores);
        for (int n = 0; n < tree.Count; n++)
        {
            // Byte tokens: step 1 is the first step's bytes and its newline, step 2 the rest and the EOS.
            int first = tree.Example.Steps[n][0].Length;
            Assert.Equal(Enumerable.Repeat(1, first).Concat(Enumerable.Repeat(2, tree.Responses[n].Length - first)),
                tree.StepIds[n]);
            Assert.Equal(ByteTokenizer.Eos, tree.Responses[n][^1]);
        }
        using var batch = new TreeExamples([tree, tree]).Collate([0, 1], ByteTokenizer.Pad);
        Assert.Equal(BatchKind.Responses, batch.Kind);
        Assert.Equal(3, batch.Slots);
        Assert.Equal(6, batch.InputIds.shape[0]); // N x B rows, response-major
        Assert.Equal(tree.Responses[2], batch.Rows[4].Completion);
    }

    [Fact]
    public void Bad_tree_and_outcome_records_are_reported_with_file_line_and_reason()
    {
        string twoResponses = JsonSerializer.Serialize(new
        {
            prompt = "Q", responses = new[] { new[] { "a" }, new[] { "b" } }, scores = new[] { 1, 0 },
        });
        var (trees, treePath) = Write("bad-trees", [TreeRecord(0), twoResponses, TreeRecord(1)]);
        Assert.Equal(2, trees.Trees.Count);
        var mismatch = Assert.Single(trees.Report.Examples[RecordIssue.InvalidAnnotation]);
        Assert.Equal(new SourceLocation(treePath, 2), mismatch.Where);
        Assert.Contains("every tree needs the same N", mismatch.Detail);

        var (outcomes, outcomePath) = Write("bad-outcomes",
        [
            OutcomeRecord(0),
            """{"prompt": "Q", "steps": ["a"], "reward": "yes"}""",
            """{"prompt": "Q", "steps": [], "reward": 1}""",
            """{"prompt": "Q", "steps": ["a"], "solution": "a", "reward": 1}""",
            """{"prompt": "Q", "solution": "a b", "reward": 0}""",
        ]);
        Assert.Equal(DataFormat.Outcome, outcomes.Format);
        Assert.Equal(2, outcomes.Trees.Count);
        Assert.True(outcomes.Trees[1].EveryTokenIsState);
        Assert.False(outcomes.Trees[0].EveryTokenIsState);
        var lines = outcomes.Report.Examples.Values.SelectMany(v => v).Select(p => p.Where.Line).Order();
        Assert.Equal([2L, 3, 4], lines);
        Assert.Contains("'reward' must be a finite number",
            Assert.Single(outcomes.Report.Examples[RecordIssue.WrongType]).Detail);

        // A prompt that leaves no room for a response token is reported with its line, not thrown.
        var (longTrees, longPath) = Write("long-tree", [TreeRecord(0), JsonSerializer.Serialize(new
        {
            prompt = new string('x', 200), responses = new[] { new[] { "a" }, new[] { "b" }, new[] { "c" } },
            scores = new[] { 2, 1, 0 },
        })], DataFormat.Tree);
        var kept = new PairTokenizer(new ByteTokenizer(), new TokenizationOptions(64, null, TruncationMode.KeepEnd))
            .TokenizeAll(longTrees.Trees, longTrees.Report);
        Assert.Equal(new SourceLocation(longPath, 1), Assert.Single(kept).Example.Source);
        Assert.Equal(new SourceLocation(longPath, 2),
            Assert.Single(longTrees.Report.Examples[RecordIssue.TooLong]).Where);
    }

    [Fact]
    public void Tpo_refuses_pairs_and_oreo_refuses_trees_with_the_record()
    {
        var (trees, treePath) = Write("trees-for-oreo", Enumerable.Range(0, 2).Select(TreeRecord));
        var objective = ObjectiveCatalog.Create("oreo", new ObjectiveParams(new Dictionary<string, string>()));
        using var head = new ValueHead(16);
        using var reference = new FrozenReference(TokenLevelFormatTrainingTests.ByteModel(1));
        var setup = new TrainingSetup(TokenLevelFormatTrainingTests.ByteModel(1), reference, objective,
            new TreeExamples(Tokenize(trees)), new TreeExamples([]), ByteTokenizer.Pad)
        {
            InputProviders = [new ValueHeadProvider(head)],
        };
        var e = Assert.Throws<DataException>(() =>
            new PreferenceTrainer(setup, Options(1, 1e-3), TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.Equal(new SourceLocation(treePath, 1), e.Where);

        var tpo = ObjectiveCatalog.Create("tpo", new ObjectiveParams(new Dictionary<string, string>()));
        var pairs = TokenLevelFormatTrainingTests.Load("steps", 2);
        var pairSetup = new TrainingSetup(TokenLevelFormatTrainingTests.ByteModel(1), reference, tpo, pairs, [],
            ByteTokenizer.Pad);
        var fromPairs = Assert.Throws<ObjectiveException>(() =>
            new PreferenceTrainer(pairSetup, Options(1, 1e-3), TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.Contains("`tree` records", fromPairs.Message);
    }

    /// <summary>Trains TPO in <paramref name="form"/> on the tree records; returns losses and margins per step.</summary>
    private static (List<double> Losses, List<double> Margins) TrainTpo(string form)
    {
        var objective = ObjectiveCatalog.Create("tpo",
            new ObjectiveParams(new Dictionary<string, string> { ["form"] = form }));
        var (loaded, _) = Write("trees-" + form, Enumerable.Range(0, Records).Select(TreeRecord));
        using var reference = new FrozenReference(TokenLevelFormatTrainingTests.ByteModel(1));
        var setup = new TrainingSetup(TokenLevelFormatTrainingTests.ByteModel(1), reference, objective,
            new TreeExamples(Tokenize(loaded)), new TreeExamples([]), ByteTokenizer.Pad);
        var log = new PreferenceTrainer(setup, Options(8, 1e-2), TinyRun.TempDir(), new RecordingObserver()).Run();
        var steps = log.Where(m => m.ContainsKey("loss")).ToList();
        // rewards/margins = beta (s(best) - s(lowest-scored)), averaged over the prompts
        return ([.. steps.Select(m => m["loss"])], [.. steps.Select(m => m["rewards/margins"])]);
    }

    [Fact]
    public void Tpo_training_on_trees_lowers_the_loss_and_ranks_the_best_response_up()
    {
        var (losses, margins) = TrainTpo("pairwise");
        Assert.True(losses[^1] < losses[0], $"tpo: loss did not go down: [{string.Join(", ", losses)}]");
        // A sign error would rank the lowest-scored response up: the margin must rise and end positive.
        Assert.True(margins[^1] > margins[0] && margins[^1] > 0, $"tpo: margin [{string.Join(", ", margins)}]");
    }

    [Fact]
    public void Tpo_code_form_reproduces_the_released_arithmetic_which_ranks_the_responses_backwards()
    {
        // form = code is -log sigmoid(beta R) with R the (positive) pairwise ranking loss: lowering it raises R, so
        // the lowest-scored response climbs. Pinned so the reproduction is never mistaken for a working ranking loss.
        var (losses, margins) = TrainTpo("code");
        Assert.True(losses[^1] < losses[0], $"tpo code: loss did not go down: [{string.Join(", ", losses)}]");
        Assert.True(margins[^1] < margins[0] && margins[^1] < 0, $"tpo code: margin [{string.Join(", ", margins)}]");
    }

    /// <summary>Mean over states of (V − R)², and mean V over the states of right and of wrong solutions.</summary>
    private static (double Error, double Right, double Wrong) Values(TrainingSetup setup, ValueHead head)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var examples = (TreeExamples)setup.Train;
        using var batch = examples.Collate([.. Enumerable.Range(0, examples.Count)], ByteTokenizer.Pad);
        var rows = BatchLogProbs.Of(setup.Policy, batch, torch.CPU, perToken: true, hiddenStates: true);
        var values = head.forward(rows.TokenHidden!); // (B, T)
        var steps = ResponseInputs.StepIds(batch.Trees!, values.shape[1], torch.CPU); // (B, T)
        var previous = torch.nn.functional.pad(steps, [1, 0])[.., ..(int)values.shape[1]];
        var states = rows.TokenMask!.to(torch.ScalarType.Bool) & steps.ne(previous); // first token of each step
        var rewards = torch.tensor(batch.Trees!.Select(t => t.Example.Scores[0]).ToArray()).to(values.dtype); // (B)
        var error = (values - rewards.unsqueeze(1)).square()[states].mean().item<float>();
        var right = states & rewards.gt(0.5).unsqueeze(1);
        var wrong = states & rewards.lt(0.5).unsqueeze(1);
        return (error, values[right].mean().item<float>(), values[wrong].mean().item<float>());
    }

    private static (TrainingSetup Setup, ValueHead Head) OreoSetup(IReferenceStrategy reference)
    {
        var objective = ObjectiveCatalog.Create("oreo", new ObjectiveParams(new Dictionary<string, string>()));
        var (loaded, _) = Write("outcomes", Enumerable.Range(0, Records).Select(OutcomeRecord));
        var policy = TokenLevelFormatTrainingTests.ByteModel(1);
        var head = new ValueHead(policy.Config.HiddenSize);
        var setup = new TrainingSetup(policy, reference, objective, new TreeExamples(Tokenize(loaded)),
            new TreeExamples([]), ByteTokenizer.Pad)
        {
            InputProviders = [new ValueHeadProvider(head)],
            Trainable = new ValueHeadWeights(new FullModelWeights(policy), head),
        };
        return (setup, head);
    }

    [Fact]
    public void Oreo_training_moves_the_value_head_toward_the_outcome_rewards_and_lowers_the_loss()
    {
        using var reference = new FrozenReference(TokenLevelFormatTrainingTests.ByteModel(1));
        var (setup, head) = OreoSetup(reference);
        using var _ = head;
        var before = Values(setup, head);
        var log = new PreferenceTrainer(setup, Options(20, 2e-2), TinyRun.TempDir(), new RecordingObserver()).Run();
        var after = Values(setup, head);
        var losses = log.Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();
        Assert.True(losses[^1] < losses[0], $"oreo: loss did not go down: [{string.Join(", ", losses)}]");
        Assert.True(log[^1].ContainsKey("value_loss") && log[^1].ContainsKey("policy_loss"));
        // Zero-initialised values start at 0; the critic must pull them toward R (a sign error pushes them away) and
        // tell right solutions (R = 1) from wrong ones (R = 0).
        Assert.Equal(0, before.Error - 0.5, 6); // half the rewards are 1: mean (0 - R)^2 = 1/2
        Assert.True(after.Error < 0.6 * before.Error, $"oreo: value error {before.Error} -> {after.Error}");
        Assert.True(after.Right > after.Wrong + 0.1, $"oreo: mean V right {after.Right}, wrong {after.Wrong}");
    }

    [Fact]
    public void Oreo_resume_restores_the_value_head_exactly()
    {
        using var reference = new FrozenReference(TokenLevelFormatTrainingTests.ByteModel(1));
        var options = Options(4, 2e-2) with { SaveSteps = 2, SaveTotalLimit = 0 };
        var (straight, straightHead) = OreoSetup(reference);
        string straightDir = TinyRun.TempDir();
        new PreferenceTrainer(straight, options, straightDir, new RecordingObserver()).Run();
        Assert.True(File.Exists(Path.Combine(straightDir, "checkpoint-2", ValueHeadWeights.HeadFile)));

        var (resumed, resumedHead) = OreoSetup(reference);
        new PreferenceTrainer(resumed, options, TinyRun.TempDir(), new RecordingObserver())
            .Run(Path.Combine(straightDir, "checkpoint-2"));
        foreach (var ((name, a), (_, b)) in straightHead.named_parameters().Zip(resumedHead.named_parameters()))
            Assert.True(a.eq(b).all().item<bool>(), $"value head '{name}' differs after resume");
        foreach (var ((name, a), (_, b)) in straight.Policy.named_parameters().Zip(resumed.Policy.named_parameters()))
            Assert.True(a.eq(b).all().item<bool>(), $"policy '{name}' differs after resume");
        Assert.False(straightHead.named_parameters().All(p => p.parameter.eq(0).all().item<bool>()), "head never trained");
        straightHead.Dispose();
        resumedHead.Dispose();
    }
}
