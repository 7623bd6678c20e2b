using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Training;

/// <summary>
/// Padding-free batches (<c>training.padding_free</c>, <see cref="RowPacking"/>): rows packed back to back with their
/// own position ids, attending only within their own row, give the padded path's log-probs and gradients, for every
/// registered model type (the tests iterate the registry). Two ways to keep rows apart are checked: per-segment
/// attention over one packed row (<see cref="CausalLM.ForwardSegments"/>, what training uses) and a block-diagonal
/// additive mask over packed rows (<see cref="Attention.AdditiveMask"/> with segment numbers). Tolerance: the paths run
/// the same float32 arithmetic per token except for attention, whose softmax and products run over differently shaped
/// (and differently masked) key sets, so results agree to rounding: 1e-5 absolute on log-prob sums of ~10-60 nats (the
/// issue's bound) and on hidden states, and gradients to 1e-6 + 1e-5 max|grad| per tensor (the bound of the fused-head
/// and checkpointing tests). Every compared gradient is checked to be non-zero, and a packed forward without the
/// segment mask is checked to differ.
/// </summary>
public sealed class PaddingFreeTests
{
    private const int Vocab = 96;

    public static TheoryData<string> ModelTypes => new(ModelFamilies.ModelTypes);

    /// <summary>The prompt lengths of <see cref="Rows"/> that two rows share (rows 0 and 4, 1 and 5, 2 and 6).</summary>
    private static readonly int[] SharedPrompts = [5, 2, 3];

    /// <summary>
    /// Seven rows of lengths 12, 5, 7, 3, 9, 4, 5 (prompt + completion), longer than the tiny sliding windows: three
    /// pairs of rows with the same prompt (<see cref="SharedPrompts"/>) and row 3 with a prompt of its own.
    /// </summary>
    private static PaddedRows Rows()
    {
        var rng = new Random(7);
        int[] Seq(int n) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(1, Vocab))];
        var prompts = SharedPrompts.Select(Seq).ToArray();
        return RowCollator.RightPad([(prompts[0], Seq(7)), (prompts[1], Seq(3)), (prompts[2], Seq(4)), (Seq(1), Seq(2)),
            (prompts[0], Seq(4)), (prompts[1], Seq(2)), (prompts[2], Seq(2))], padId: 0);
    }

    private static CausalLM Model(string modelType)
    {
        var cfg = ModelFamilies.ForModelType(modelType).TinyConfig(modelType, Vocab);
        var model = ModelFactory.Create(cfg);
        using var g = new Generator(31);
        using var _ = no_grad();
        foreach (var (_, p) in model.named_parameters().OrderBy(x => x.name, StringComparer.Ordinal))
        {
            using var r = randn(p.shape, p.dtype, generator: g);
            p.add_(0.05 * r); // move zero biases and unit norms off their initial values
        }
        return model;
    }

    private sealed record Result(float[] Sums, float[] Counts, float[] Tokens, float[] LogitSums, Dictionary<string, float[]> Grads);

    private static Result Run(CausalLM model, PaddedRows rows, bool packed, bool sharePrompts = true)
    {
        using var scope = NewDisposeScope();
        foreach (var p in model.parameters()) p.grad = null;
        var r = SequenceLogProbs.Compute(model, rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask,
            perToken: true, packed: packed, sharePrompts: sharePrompts);
        (r.Sums * tensor(new[] { 1f, -0.5f, 2f, 0.25f, -1f, 1.5f, 0.75f })).sum().backward(); // row weights: a mix-up shows
        return new Result(r.Sums.data<float>().ToArray(), r.Counts.data<float>().ToArray(),
            r.Tokens!.data<float>().ToArray(), r.LogitSums!.data<float>().ToArray(),
            model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray()));
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Packed_log_probs_and_gradients_equal_the_padded_path(string modelType)
    {
        using var model = Model(modelType);
        var rows = Rows();
        var padded = Run(model, rows, packed: false);
        foreach (bool share in new[] { true, false })
            Same(modelType, padded, Run(model, rows, packed: true, sharePrompts: share));
    }

    private static void Same(string modelType, Result padded, Result packed)
    {
        Assert.Equal(padded.Counts, packed.Counts);
        Assert.All(padded.Sums, s => Assert.True(s < -1, $"{modelType}: implausible log-prob sum {s}"));
        Assert.Equal(padded.Sums, packed.Sums, (a, b) => Math.Abs(a - b) <= 1e-5f);
        Assert.Equal(padded.Tokens, packed.Tokens, (a, b) => Math.Abs(a - b) <= 1e-5f);
        Assert.Equal(padded.LogitSums, packed.LogitSums, (a, b) => Math.Abs(a - b) <= 1e-5f);
        foreach (var (name, e) in padded.Grads)
        {
            float worst = e.Zip(packed.Grads[name], (x, y) => Math.Abs(x - y)).Max();
            float scale = e.Max(Math.Abs);
            Assert.True(scale > 0, $"{modelType} {name}: no gradient reached this parameter");
            Assert.True(worst <= 1e-6f + 1e-5f * scale,
                $"{modelType} {name}: largest gradient difference {worst} (max |grad| {scale})");
        }
    }

    /// <summary>
    /// How a test forwards the rows: padded, packed under the block-diagonal mask, per-segment attention (with
    /// checkpointed blocks), or per-segment attention with shared prompts.
    /// </summary>
    public enum Path { Padded, Mask, Segments, SegmentsCheckpointed, SharedPrompts }

    /// <summary>
    /// Hidden states (one per real token, in padded row order) and parameter gradients of a fixed random projection of
    /// them, forwarded along <paramref name="path"/>.
    /// </summary>
    private static (float[] Hidden, Dictionary<string, float[]> Grads) Hidden(CausalLM model, PaddedRows rows, Path path)
    {
        using var scope = NewDisposeScope();
        foreach (var p in model.parameters()) p.grad = null;
        model.GradientCheckpointing = path == Path.SegmentsCheckpointed;
        var real = rows.AttentionMask.reshape(-1).nonzero().squeeze(1); // (N): padded indices r*T + t of real tokens
        Tensor h; // (N, C)
        if (path == Path.Padded)
        {
            var all = model.ForwardHidden(rows.InputIds, rows.AttentionMask, rows.PositionIds); // (R, T, C)
            h = all.reshape(-1, all.shape[2]).index_select(0, real);
        }
        else
        {
            var pack = path == Path.SharedPrompts
                ? RowPacking.PackSharingPrompts(rows.InputIds, rows.AttentionMask, rows.PositionIds, rows.CompletionMask)
                : RowPacking.Pack(rows.InputIds, rows.AttentionMask, rows.PositionIds,
                    capacity: path == Path.Mask ? null : long.MaxValue);
            var all = path == Path.Mask
                ? model.ForwardHidden(pack.InputIds, pack.SegmentMask!, pack.PositionIds) // (P, Tp, C)
                : model.ForwardSegments(pack.InputIds.reshape(1, -1), pack.PositionIds.reshape(1, -1),
                    pack.Segments); // (1, P*Tp, C)
            h = all.reshape(-1, all.shape[2]).index_select(0, pack.Slots.index_select(0, real));
        }
        model.GradientCheckpointing = false;
        using var g = new Generator(5);
        (h * randn(h.shape, generator: g)).sum().backward();
        var trunk = model.named_parameters().Where(p => p.name != "lm_head.weight"); // an untied head sees no hidden state
        return (h.detach().reshape(-1).data<float>().ToArray(),
            trunk.ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray()));
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Mask_and_per_segment_attention_give_the_padded_hidden_states_and_gradients(string modelType)
    {
        using var model = Model(modelType);
        var rows = Rows();
        var padded = Hidden(model, rows, Path.Padded);
        foreach (var path in new[] { Path.Mask, Path.Segments, Path.SegmentsCheckpointed, Path.SharedPrompts })
        {
            var packed = Hidden(model, rows, path);
            float worstHidden = padded.Hidden.Zip(packed.Hidden, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worstHidden <= 1e-5f, $"{modelType} {path}: largest hidden-state difference {worstHidden}");
            foreach (var (name, e) in padded.Grads)
            {
                float worst = e.Zip(packed.Grads[name], (x, y) => Math.Abs(x - y)).Max();
                float scale = e.Max(Math.Abs);
                Assert.True(scale > 0, $"{modelType} {name}: no gradient reached this parameter");
                Assert.True(worst <= 1e-6f + 1e-5f * scale,
                    $"{modelType} {path} {name}: largest gradient difference {worst} (max |grad| {scale})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Without_the_segment_mask_packed_rows_would_see_each_other(string modelType)
    {
        using var model = Model(modelType);
        model.eval();
        using var _ = no_grad();
        var rows = Rows();
        using var pack = RowPacking.Pack(rows.InputIds, rows.AttentionMask, rows.PositionIds);
        using var segmented = model.ForwardHidden(pack.InputIds, pack.SegmentMask!, pack.PositionIds);
        using var plain = model.ForwardHidden(pack.InputIds, pack.SegmentMask!.clamp_max(1), pack.PositionIds);
        double moved = (segmented - plain).abs().max().item<float>();
        Assert.True(moved > 1e-3, $"{modelType}: a plain causal mask over packed rows changed hidden states by only {moved}");
    }

    [Fact]
    public void Packing_places_every_real_token_once_with_its_id_and_position_in_fewer_rows()
    {
        var rows = Rows();
        using var pack = RowPacking.Pack(rows.InputIds, rows.AttentionMask, rows.PositionIds);
        long r = rows.InputIds.shape[0], t = rows.InputIds.shape[1];
        var lengths = rows.AttentionMask.sum(1).data<long>().ToArray();
        long tokens = lengths.Sum();
        Assert.True(pack.Sequences < r, $"{pack.Sequences} packed sequences for {r} rows");
        Assert.True(pack.Sequences >= (tokens + t - 1) / t);
        Assert.Equal(lengths.Max(), pack.Width); // no sequence is longer than the longest row
        Assert.Equal(pack.Sequences * pack.Width, pack.Segments.Sum(g => g.Length)); // rows and tails tile the packed tokens

        var slots = pack.Slots.data<long>().ToArray();
        var ids = rows.InputIds.reshape(-1).data<long>().ToArray();
        var mask = rows.AttentionMask.reshape(-1).data<long>().ToArray();
        var pos = rows.PositionIds.reshape(-1).data<long>().ToArray();
        var packedIds = pack.InputIds.reshape(-1).data<long>().ToArray();
        var packedPos = pack.PositionIds.reshape(-1).data<long>().ToArray();
        var segments = pack.SegmentMask!.reshape(-1).data<long>().ToArray();
        for (int k = 0; k < slots.Length; k++)
        {
            Assert.Equal(mask[k] != 0, slots[k] >= 0);
            if (slots[k] < 0) continue;
            Assert.Equal(ids[k], packedIds[slots[k]]);
            Assert.Equal(pos[k], packedPos[slots[k]]);
            Assert.True(segments[slots[k]] > 0);
        }
        long tails = Enumerable.Range(0, (int)pack.Sequences).Count(b => segments[(b + 1) * pack.Width - 1] == 0);
        Assert.Equal(r + tails, pack.Segments.Count); // one segment per row, one per tail
        Assert.All(pack.Segments, g => Assert.Empty(g.Branches));
        var used = slots.Where(s => s >= 0).ToList();
        Assert.Equal(used.Count, used.Distinct().Count());
        Assert.Equal(used.Count, segments.Count(s => s > 0)); // every packed real token comes from one padded token
        // A row's tokens stay consecutive in one segment: the next token of a row is the next packed slot.
        for (long row = 0; row < r; row++)
            for (long i = 1; i < lengths[row]; i++)
                Assert.Equal(slots[row * t + i - 1] + 1, slots[row * t + i]);
    }

    [Fact]
    public void Packing_to_an_unbounded_capacity_gives_one_row_without_padding()
    {
        var rows = Rows();
        using var pack = RowPacking.Pack(rows.InputIds, rows.AttentionMask, rows.PositionIds, capacity: long.MaxValue);
        var lengths = rows.AttentionMask.sum(1).data<long>().ToArray();
        Assert.Equal(1, pack.Sequences);
        Assert.Equal(lengths.Sum(), pack.Width); // every computed token is a real one
        Assert.Equal(lengths.Order(), pack.Segments.Select(g => g.Length).Order()); // one segment per row, no tail
        Assert.DoesNotContain(0L, pack.SegmentMask!.data<long>().ToArray());
    }

    [Fact]
    public void Sharing_prompts_computes_each_shared_prompt_once()
    {
        var rows = Rows();
        using var pack = RowPacking.PackSharingPrompts(rows.InputIds, rows.AttentionMask, rows.PositionIds,
            rows.CompletionMask);
        long r = rows.InputIds.shape[0], t = rows.InputIds.shape[1];
        var lengths = rows.AttentionMask.sum(1).data<long>().ToArray();
        Assert.Equal(1, pack.Sequences);
        Assert.Equal(lengths.Sum() - SharedPrompts.Sum(), pack.Width); // each shared prompt once, no pad
        Assert.Equal(SharedPrompts.Select(p => (long)p), pack.Segments.Where(g => g.Branches.Count > 0).Select(g => g.Prefix));
        Assert.All(pack.Segments.Where(g => g.Branches.Count > 0), g => Assert.Equal(2, g.Branches.Count));
        Assert.Single(pack.Segments, g => g.Branches.Count == 0); // row 3's prompt is its own

        var slots = pack.Slots.data<long>().ToArray();
        var ids = rows.InputIds.reshape(-1).data<long>().ToArray();
        var pos = rows.PositionIds.reshape(-1).data<long>().ToArray();
        var packedIds = pack.InputIds.reshape(-1).data<long>().ToArray();
        var packedPos = pack.PositionIds.reshape(-1).data<long>().ToArray();
        for (int k = 0; k < slots.Length; k++)
        {
            Assert.Equal(k % t < lengths[k / t], slots[k] >= 0);
            if (slots[k] < 0) continue;
            Assert.Equal(ids[k], packedIds[slots[k]]);
            Assert.Equal(pos[k], packedPos[slots[k]]);
        }
        for (int pair = 0; pair < SharedPrompts.Length; pair++) // rows pair and pair + 4 share the prompt's slots only
            for (int i = 0; i < lengths[pair] && i < lengths[pair + 4]; i++)
                Assert.Equal(i < SharedPrompts[pair], slots[pair * t + i] == slots[(pair + 4) * t + i]);
        Assert.Equal(pack.Width, slots.Where(s => s >= 0).Distinct().Count()); // every packed token is read
    }

    [Fact]
    public void Rows_with_holes_are_refused()
    {
        using var ids = tensor(new long[,] { { 5, 6, 7 } });
        using var mask = tensor(new long[,] { { 1, 0, 1 } });
        var e = Assert.Throws<ArgumentException>(() => RowPacking.Pack(ids, mask, CausalLM.PositionsFromMask(mask)));
        Assert.Contains("contiguous", e.Message);
    }

    /// <remarks>
    /// Adam's epsilon is 1e-4, not smaller: GPT-2's key bias (c_attn.bias[C..2C]) has a zero gradient in exact arithmetic
    /// (softmax ignores a shift shared by all of a query's scores), so its float gradient is rounding noise (~1e-9),
    /// which Adam with a tiny epsilon turns into steps of up to the learning rate that differ between any two
    /// summation orders (padded rows vs a pair's prompt computed once). At 1e-6 that noise moved the key bias by
    /// 1.2e-5 between the paths; every other parameter agreed to 1e-5 either way.
    /// </remarks>
    [Fact]
    public void A_padding_free_run_trains_like_the_padded_run()
    {
        var pairs = TinyRun.Pairs(8);
        TrainingOptions Options(bool packed) => new()
        {
            MaxSteps = 3, BatchSize = 4, LearningRate = 1e-2, LoggingSteps = 1, SaveTotalLimit = 0,
            AdamEpsilon = 1e-4, BatchOrder = BatchOrder.Random, PaddingFree = packed,
        };
        var a = TinyRun.Setup(pairs);
        var logA = new PreferenceTrainer(a, Options(false), TinyRun.TempDir(), new RecordingObserver()).Run();
        var b = TinyRun.Setup(pairs);
        var logB = new PreferenceTrainer(b, Options(true), TinyRun.TempDir(), new RecordingObserver()).Run();
        Assert.Equal(3, logA.Count);
        for (int i = 0; i < 3; i++)
            foreach (var key in new[] { "loss", "logps/chosen", "logps/rejected", "rewards/margins" })
                Assert.True(Math.Abs(logA[i][key] - logB[i][key]) < 1e-5, $"step {i + 1} {key}: {logA[i][key]} vs {logB[i][key]}");
        Assert.True(logA[2]["rewards/margins"] != logA[0]["rewards/margins"]); // the steps trained
        foreach (var ((name, pa), (_, pb)) in a.Policy.named_parameters().Zip(b.Policy.named_parameters()))
        {
            using var gap = (pa - pb).abs().reshape(-1);
            double diff = gap.max().item<float>();
            Assert.True(diff < 1e-5, $"{name} differs by {diff} at flat index {gap.argmax().item<long>()} of {gap.numel()}");
        }
    }
}
