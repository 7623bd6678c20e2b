using AlignSharp.Data;
using AlignSharp.Objectives;
using AlignSharp.Training;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Training;

/// <summary>
/// Pairs and unpaired examples are two batch kinds through one step path. KTO's losses are those of the earlier
/// separate paths (recomputed here as they were written), and KTO on pairs equals KTO on the same pairs split into
/// desirable and undesirable examples. Policy and reference differ, so the KL estimate and the rewards are not trivial.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class BatchKindTests
{
    private const int B = 6;

    private static List<TokenizedUnpaired> Split(IReadOnlyList<TokenizedPair> pairs) =>
    [
        .. pairs.Select(p => new TokenizedUnpaired(p.Prompt, p.Chosen, Example(p, true))),
        .. pairs.Select(p => new TokenizedUnpaired(p.Prompt, p.Rejected, Example(p, false))),
    ];

    private static UnpairedExample Example(TokenizedPair p, bool desirable) =>
        new(p.Example.Prompt, desirable ? p.Example.Chosen : p.Example.Rejected, desirable, p.Example.Source);

    private static List<TokenizedPair> Swapped(IReadOnlyList<TokenizedPair> pairs, int[] order) =>
    [
        .. pairs.Select((p, i) => p with { Chosen = pairs[order[i]].Chosen, Rejected = pairs[order[i]].Rejected }),
    ];

    [Fact]
    public void Kto_on_pairs_gives_the_loss_of_the_earlier_paired_path_bit_for_bit()
    {
        var pairs = TinyRun.Pairs(B);
        using var policy = TinyRun.Model(1);
        using var reference = new FrozenReference(TinyRun.Model(2));
        var kto = new Kto(0.1);
        using var _ = no_grad();
        using var batch = PreferenceCollator.Collate(pairs, 0);
        var loss = new PreferenceStep(policy, reference, kto, CPU).Run(batch, ObjectiveContext.Eval).Loss.item<float>();

        // Earlier path: sums of the 2B rows, then the mismatched (prompt i, completions of pair i-1) rows as extras.
        var rows = BatchLogProbs.Of(policy, batch, CPU);
        var refRows = reference.LogProbs(batch, CPU)!;
        var order = UnpairedStats.MismatchedOrder(B);
        using var mismatched = PreferenceCollator.Collate(Swapped(pairs, order), 0);
        var stats = new PairStats(rows.Sums[..B], rows.Sums[B..], refRows[..B], refRows[B..],
            rows.Counts[..B], rows.Counts[B..])
        {
            Extras = new Dictionary<string, Tensor>
            {
                ["kl_policy_logps"] = BatchLogProbs.Of(policy, mismatched, CPU).Sums,
                ["kl_reference_logps"] = reference.LogProbs(mismatched, CPU)!,
            },
        };
        var before = kto.Compute(stats, ObjectiveContext.Eval).Losses.mean().item<float>();
        Assert.Equal(before, loss);
        Assert.NotEqual(0.5f, loss, 3); // policy != reference
    }

    [Fact]
    public void Kto_on_unpaired_examples_gives_the_loss_of_the_earlier_unpaired_path()
    {
        var examples = Split(TinyRun.Pairs(B));
        using var policy = TinyRun.Model(1);
        using var reference = new FrozenReference(TinyRun.Model(2));
        var kto = new Kto(0.1);
        using var _ = no_grad();
        using var batch = PreferenceCollator.Collate(examples, 0);
        var loss = new PreferenceStep(policy, reference, kto, CPU).Run(batch, ObjectiveContext.Eval).Loss.item<float>();

        // Earlier path: one forward over 2N rows, (prompt i, completion i) then (prompt i, completion of example i-1).
        int n = examples.Count;
        var order = UnpairedStats.MismatchedOrder(n);
        using var rows2 = PreferenceCollator.Collate(
            [.. examples.Select((x, i) => new TokenizedPair(x.Prompt, x.Completion, examples[order[i]].Completion,
                new PreferenceExample("p", "c", "r", x.Example.Source)))], 0);
        var sums = BatchLogProbs.Of(policy, rows2, CPU).Sums;
        var refs = reference.LogProbs(rows2, CPU)!;
        var labels = tensor(examples.Select(x => x.Example.Label ? 1f : 0f).ToArray());
        var stats = new UnpairedStats(sums[..n], refs[..n], labels, sums[n..], refs[n..]);
        var before = kto.Compute(stats, ObjectiveContext.Eval).Losses.mean().item<float>();
        Assert.Equal(before, loss, 1e-6); // same maths; the rows are now scored in two forwards instead of one
    }

    [Fact]
    public void Kto_on_pairs_equals_kto_on_the_pairs_split_into_examples()
    {
        // Split chosen-first, the unpaired rotation builds the same set of mismatched rows as the paired one, so the
        // KL estimate is the same, and the mean over 2B examples equals the mean of per-pair means.
        var pairs = TinyRun.Pairs(B);
        using var policy = TinyRun.Model(1);
        using var reference = new FrozenReference(TinyRun.Model(2));
        var step = new PreferenceStep(policy, reference, new Kto(0.1, 1.0, 1.33), CPU);
        using var _ = no_grad();
        using var paired = PreferenceCollator.Collate(pairs, 0);
        using var unpaired = PreferenceCollator.Collate(Split(pairs), 0);
        var a = step.Run(paired, ObjectiveContext.Eval);
        var b = step.Run(unpaired, ObjectiveContext.Eval);
        Assert.Equal(a.Loss.item<float>(), b.Loss.item<float>(), 1e-6);
        foreach (var metric in new[] { "kl", "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected" })
            Assert.Equal(a.Metrics[metric], b.Metrics[metric], 1e-5);
    }

    [Fact]
    public void Both_kinds_collate_rows_in_slot_order_and_mismatch_by_rotation()
    {
        var pairs = TinyRun.Pairs(3);
        using var batch = PreferenceCollator.Collate(pairs, 0);
        Assert.Equal((BatchKind.Pairs, 3, 2), (batch.Kind, batch.Count, batch.Slots));
        Assert.Equal([.. pairs.Select(p => p.Chosen), .. pairs.Select(p => p.Rejected)],
            batch.Rows.Select(r => r.Completion));
        using var mismatched = batch.Mismatched(UnpairedStats.MismatchedOrder(3));
        Assert.Equal(pairs.Select(p => p.Prompt), mismatched.Pairs.Select(p => p.Prompt));
        Assert.Equal([pairs[2].Chosen, pairs[0].Chosen, pairs[1].Chosen], mismatched.Pairs.Select(p => p.Chosen));

        var examples = Split(pairs);
        using var u = PreferenceCollator.Collate(examples, 0);
        Assert.Equal((BatchKind.Unpaired, 6, 1), (u.Kind, u.Count, u.Slots));
        Assert.Equal([1.0, 1, 1, 0, 0, 0], u.Labels(ScalarType.Float64).data<double>().ToArray());
        using var um = u.Mismatched(UnpairedStats.MismatchedOrder(6));
        Assert.Equal(examples[5].Completion, um.Rows[0].Completion);
        Assert.Equal(examples[0].Prompt, um.Rows[0].Prompt);
    }
}
