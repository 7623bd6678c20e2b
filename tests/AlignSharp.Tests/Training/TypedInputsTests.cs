using AlignSharp.Data;
using AlignSharp.Objectives;
using AlignSharp.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Tests.Training;

/// <summary>
/// The objective contract's typed inputs as the trainer satisfies them: requests matched to providers by type (a
/// request no provider answers fails before the first step), extra providers plugging in, dataset columns checked
/// against the data, and per-token completion log-probs (policy forward and reference strategies, cached included).
/// Serial: some tests compare runs bit for bit.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class TypedInputsTests
{
    /// <summary>
    /// DPO written per token: <c>-ls(beta [(S(lp_w) - S(lr_w)) - (S(lp_l) - S(lr_l))])</c> with S the masked sum over
    /// completion tokens. Summing the tokens gives the sequence sums, so it equals sequence DPO.
    /// </summary>
    private sealed class PerTokenDpo(double beta) : IPreferenceObjective
    {
        private static readonly CompletionTokenLogProbs Tokens = new();

        public string Id => "per_token_dpo";

        public bool NeedsReference => true;

        public LogProbReduction Reduction => LogProbReduction.Sum;

        public IReadOnlyList<InputRequest> Inputs => [Tokens];

        public ObjectiveOutput Compute(PairStats stats, ObjectiveContext context)
        {
            var t = stats.Get(Tokens, Id);
            var (rw, rl) = t.RequireReference(Id);
            var cw = S(t.PolicyChosen, t.ChosenMask) - S(rw, t.ChosenMask); // (B, Tc) -> (B)
            var cl = S(t.PolicyRejected, t.RejectedMask) - S(rl, t.RejectedMask); // (B, Tr) -> (B)
            var losses = -F.logsigmoid(beta * (cw - cl));
            return new ObjectiveOutput(losses, (beta * cw).detach(), (beta * cl).detach());
        }

        private static Tensor S(Tensor values, Tensor mask) => TokenLogProbs.MaskedSum(values, mask);
    }

    /// <summary>A stand-in reward head: a row's reward is its mean policy log-prob (with gradient).</summary>
    private sealed class MeanLogProbHead : InputProvider<HeadRewards, PairValues>
    {
        public int Calls { get; private set; }

        protected override PairValues Value(HeadRewards request, InputContext c)
        {
            Calls++;
            var q = c.PolicyRows.Sums / c.PolicyRows.Counts; // (2B)
            int b = c.Batch.Count;
            return new PairValues(q[..b], q[b..]);
        }
    }

    private static TrainingOptions Options(int steps) => new()
    {
        MaxSteps = steps, BatchSize = 8, LearningRate = 1e-2, Schedule = ScheduleKind.Constant, LoggingSteps = 1,
        Seed = 7, SaveTotalLimit = 1,
    };

    private static List<double> Losses(IReadOnlyList<Dictionary<string, double>> log) =>
        [.. log.Where(m => m.ContainsKey("loss")).Select(m => m["loss"])];

    [Theory]
    [InlineData("dph_separate")]
    [InlineData("dph_contrastive")]
    public void An_input_no_provider_answers_fails_before_the_first_step_naming_the_objective_and_input(string id)
    {
        var pairs = TinyRun.Pairs(8);
        var member = ObjectiveCatalog.Create(id, new ObjectiveParams());
        var combined = new CombinedObjective([(new Dpo(0.1), 1.0), (member, 0.5)]);
        string dir = TinyRun.TempDir();
        var setup = new TrainingSetup(TinyRun.Model(), new FrozenReference(TinyRun.Model()), combined, pairs, [], 0);
        var trainer = new PreferenceTrainer(setup, Options(2), dir, new RecordingObserver());
        var e = Assert.Throws<ObjectiveException>(() => trainer.Run());
        Assert.Contains($"objective '{id}'", e.Message); // the member that asks, not the combination
        Assert.Contains("'chosen_head_rewards'", e.Message);
        Assert.Contains("cannot provide", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir)); // nothing ran: no metrics, no checkpoint
    }

    [Fact]
    public void A_provider_given_to_the_trainer_satisfies_the_request_it_plugs_in()
    {
        var head = new MeanLogProbHead();
        var pairs = TinyRun.Pairs(8);
        var objective = ObjectiveCatalog.Create("dph_contrastive", new ObjectiveParams());
        var setup = new TrainingSetup(TinyRun.Model(), new NoReference(), objective, pairs, [], 0)
        {
            InputProviders = [head],
        };
        var losses = Losses(new PreferenceTrainer(setup, Options(6), TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.Equal(6, head.Calls);
        Assert.True(losses[^1] < losses[0], $"dph_contrastive with a plugged-in head: [{string.Join(", ", losses)}]");
    }

    [Fact]
    public void A_dataset_column_missing_from_a_record_is_an_error_naming_the_objective_column_and_record()
    {
        var pairs = TinyRun.Pairs(8);
        var scored = pairs.Select((p, i) => i == 5 ? p : p with
        {
            Example = p.Example with
            {
                Extras = new Dictionary<string, double> { ["chosen_score"] = 2, ["rejected_score"] = 1 },
            },
        }).ToList();
        var reference = new FrozenReference(TinyRun.Model());
        var setup = new TrainingSetup(TinyRun.Model(), reference, new Odpo(0.1, 1, false), scored, [], 0);
        var trainer = new PreferenceTrainer(setup, Options(1), TinyRun.TempDir(), new RecordingObserver());
        var e = Assert.Throws<DataException>(() => trainer.Run());
        Assert.Contains("synthetic:6", e.Message);
        Assert.Contains("'odpo'", e.Message);
        Assert.Contains("'chosen_score'", e.Message);
    }

    [Fact]
    public void Sequence_objectives_keep_the_sums_only_path_and_token_objectives_get_tokens()
    {
        Assert.False(new TrainerInputs(new Dpo(0.1)).NeedsTokenLogProbs);
        Assert.False(new TrainerInputs(ObjectiveCatalog.Create("kto", new ObjectiveParams())).NeedsTokenLogProbs);
        Assert.True(new TrainerInputs(new PerTokenDpo(0.1)).NeedsTokenLogProbs);
        using var batch = PreferenceCollator.Collate(TinyRun.Pairs(4), 0);
        using var model = TinyRun.Model();
        using var _ = no_grad();
        var fast = BatchLogProbs.Of(model, batch, CPU);
        Assert.Null(fast.Tokens);
        var rows = BatchLogProbs.Of(model, batch, CPU, perToken: true);
        Assert.Equal(fast.Sums.data<float>().ToArray(), rows.Sums.data<float>().ToArray()); // same sums either way
        // Token t of row r is the t-th completion token; the mask covers exactly the completion.
        var completions = batch.Rows.Select(r => r.Completion.Length).ToArray();
        Assert.Equal(new long[] { batch.Rows.Count, completions.Max() }, rows.Tokens!.shape);
        Assert.Equal(completions.Select(c => (float)c), rows.TokenMask!.sum(1).data<float>().ToArray());
        var summed = TokenLogProbs.MaskedSum(rows.Tokens, rows.TokenMask).data<float>().ToArray();
        var sums = rows.Sums.data<float>().ToArray();
        for (int r = 0; r < sums.Length; r++) Assert.Equal(sums[r], summed[r], 1e-4);
    }

    [Fact]
    public void Per_token_dpo_through_the_trainer_equals_sequence_dpo()
    {
        var pairs = TinyRun.Pairs(8);
        List<double> Train(IPreferenceObjective objective)
        {
            var reference = new FrozenReference(TinyRun.Model(2));
            var setup = new TrainingSetup(TinyRun.Model(1), reference, objective, pairs, pairs, 0);
            return Losses(new PreferenceTrainer(setup, Options(5), TinyRun.TempDir(), new RecordingObserver()).Run());
        }
        var sequence = Train(new Dpo(0.1));
        var perToken = Train(new PerTokenDpo(0.1));
        Assert.True(sequence[0] != Math.Log(2), "policy and reference differ, so the first loss is not ln 2");
        Assert.Equal(sequence.Count, perToken.Count);
        for (int i = 0; i < sequence.Count; i++) Assert.Equal(sequence[i], perToken[i], 1e-5);
        Assert.True(perToken[^1] < perToken[0]);
    }

    [Fact]
    public void A_cached_reference_stores_per_token_values_and_serves_them_from_disk()
    {
        string root = TinyRun.TempDir();
        var pairs = TinyRun.Pairs(6);
        using var batch = PreferenceCollator.Collate(pairs, 0);
        Tensor expected;
        using (var frozen = new FrozenReference(TinyRun.Model(2))) expected = frozen.TokenLogProbs(batch, CPU)!;
        using (var cache = new CachedReference(TinyRun.Model(2), root))
        {
            cache.Precompute(pairs, batchSize: 3, padId: 0, perToken: true);
            Assert.Equal(2, cache.Forwards);
        }
        using var reopened = new CachedReference(TinyRun.Model(2), root);
        var tokens = reopened.TokenLogProbs(batch, CPU)!; // (2B, Tc)
        Assert.Equal(0, reopened.Forwards);
        Assert.True(File.Exists(reopened.TokenFile));
        Assert.Equal(expected.shape, tokens.shape);
        var mask = BatchLogProbs.Of(TinyRun.Model(2), batch, CPU, perToken: true).TokenMask!.to(ScalarType.Bool);
        float[] Scored(Tensor t) => t.masked_select(mask).data<float>().ToArray();
        Assert.Equal(Scored(expected), Scored(tokens));
        var sums = reopened.LogProbs(batch, CPU)!.data<float>().ToArray();
        var summed = TokenLogProbs.MaskedSum(tokens, mask.to(ScalarType.Float32)).data<float>().ToArray();
        for (int r = 0; r < sums.Length; r++) Assert.Equal(sums[r], summed[r], 1e-4);
    }

    [Fact]
    public void Per_token_dpo_with_a_cached_reference_trains_like_with_a_frozen_one()
    {
        var pairs = TinyRun.Pairs(8);
        List<double> Train(IReferenceStrategy reference)
        {
            using var _ = reference;
            var setup = new TrainingSetup(TinyRun.Model(1), reference, new PerTokenDpo(0.1), pairs, [], 0);
            return Losses(new PreferenceTrainer(setup, Options(4), TinyRun.TempDir(), new RecordingObserver()).Run());
        }
        var frozen = Train(new FrozenReference(TinyRun.Model(2)));
        var cached = Train(new CachedReference(TinyRun.Model(2), TinyRun.TempDir()));
        for (int i = 0; i < frozen.Count; i++) Assert.Equal(frozen[i], cached[i], 1e-6);
    }
}
