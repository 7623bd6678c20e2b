using AlignSharp.Objectives;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives;

/// <summary>Builders of float64 pair statistics and helpers for the objective tests.</summary>
internal static class Pairs
{
    public static readonly ObjectiveContext Train = new(true, 0, 1, null);

    public static Tensor V(params double[] values) => tensor(values); // (B) float64

    /// <summary>Pair statistics from host arrays; lengths default to 10 and extras are added by key.</summary>
    public static PairStats Make(double[] pw, double[] pl, double[]? rw, double[]? rl, double[]? nw = null, double[]? nl = null,
        Dictionary<string, Tensor>? extras = null) =>
        new(V(pw), V(pl), rw is null ? null : V(rw), rl is null ? null : V(rl),
            V(nw ?? [.. pw.Select(_ => 10.0)]), V(nl ?? [.. pl.Select(_ => 10.0)]))
        { Extras = extras ?? [] };

    /// <summary>A random batch with valid extras for every objective (seeded, so tests are reproducible).</summary>
    public static PairStats Random(int b, int seed, bool policyEqualsReference = false)
    {
        var rng = new Random(seed);
        double[] Draw(double lo, double hi) => [.. Enumerable.Range(0, b).Select(_ => lo + (hi - lo) * rng.NextDouble())];
        var rw = Draw(-60, -5);
        var rl = Draw(-60, -5);
        var pw = policyEqualsReference ? rw : [.. rw.Select(x => x + 4 * (rng.NextDouble() - 0.5))];
        var pl = policyEqualsReference ? rl : [.. rl.Select(x => x + 4 * (rng.NextDouble() - 0.5))];
        var sl = Draw(0.1, 1);
        return Make(pw, pl, rw, rl, [.. Draw(3, 40).Select(x => Math.Round(x))], [.. Draw(3, 40).Select(x => Math.Round(x))], Extras(b, rng, sl));
    }

    /// <summary>Valid extras for every objective that needs some.</summary>
    public static Dictionary<string, Tensor> Extras(int b, Random rng, double[] rejectedScores) => new()
    {
        ["chosen_scores"] = V([.. rejectedScores.Select(s => s + 0.5 + rng.NextDouble())]),
        ["rejected_scores"] = V(rejectedScores),
        ["chosen_win_probs"] = V([.. Enumerable.Range(0, b).Select(_ => rng.NextDouble())]),
        ["rejected_win_probs"] = V([.. Enumerable.Range(0, b).Select(_ => rng.NextDouble())]),
        ["prompt_embeddings"] = randn([b, 5], ScalarType.Float64, generator: new Generator((ulong)rng.Next())),
        ["chosen_head_rewards"] = V([.. Enumerable.Range(0, b).Select(_ => rng.NextDouble() * 4 - 2)]),
        ["rejected_head_rewards"] = V([.. Enumerable.Range(0, b).Select(_ => rng.NextDouble() * 4 - 2)]),
        ["kl_policy_logps"] = V([.. Enumerable.Range(0, b).Select(_ => -30 + rng.NextDouble())]),
        ["kl_reference_logps"] = V([.. Enumerable.Range(0, b).Select(_ => -30 + rng.NextDouble())]),
    };

    /// <summary>Creates a catalog objective from "key=value" pairs.</summary>
    public static IPreferenceObjective Create(string id, params (string Key, string Value)[] ps) =>
        ObjectiveCatalog.Create(id, new ObjectiveParams(ps.ToDictionary(p => p.Key, p => p.Value)));

    /// <summary>Per-pair losses as doubles.</summary>
    public static double[] Losses(IPreferenceObjective o, PairStats s, ObjectiveContext? context = null) =>
        o.Compute(s, context ?? Train).Losses.to(ScalarType.Float64).data<double>().ToArray();

    public static void AllClose(double[] expected, double[] actual, string what, double rtol = 1e-12, double atol = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}: pair {i}: {actual[i]:R} vs expected {expected[i]:R} (|diff| {Math.Abs(expected[i] - actual[i]):R})");
    }

    public static double LogSigmoid(double z) => z >= 0 ? -Math.Log(1 + Math.Exp(-z)) : z - Math.Log(1 + Math.Exp(z));
}
