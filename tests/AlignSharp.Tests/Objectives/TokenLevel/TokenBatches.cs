using AlignSharp.Objectives;
using static AlignSharp.Tests.Objectives.Pairs;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>One side of a random per-token batch: log-probs (B, T), reference (B, T), 0/1 mask (B, T); padding
/// -99.</summary>
internal sealed record Side(double[,] Policy, double[,] Reference, double[,] Mask)
{
    public int B => Policy.GetLength(0);
    public int T => Policy.GetLength(1);

    public double Sum(double[,] v, int row, Func<int, bool>? counted = null) =>
        Enumerable.Range(0, T).Where(t => Mask[row, t] == 1 && (counted?.Invoke(t) ?? true)).Sum(t => v[row, t]);

    public double[] PolicySums(Func<int, int, bool>? counted = null) =>
        [.. Enumerable.Range(0, B).Select(r => Sum(Policy, r, counted is null ? null : t => counted(r, t)))];

    public double[] ReferenceSums(Func<int, int, bool>? counted = null) =>
        [.. Enumerable.Range(0, B).Select(r => Sum(Reference, r, counted is null ? null : t => counted(r, t)))];

    public double[] Lengths => [.. Enumerable.Range(0, B).Select(r => Enumerable.Range(0, T).Sum(t => Mask[r, t]))];
}

/// <summary>Builders of per-token test batches (float64, seeded).</summary>
internal static class TokenBatches
{
    public static Side RandomSide(Random rng, int b, int t, int minLength = 1)
    {
        var lp = new double[b, t];
        var lr = new double[b, t];
        var m = new double[b, t];
        for (int r = 0; r < b; r++)
        {
            int length = rng.Next(minLength, t + 1);
            for (int i = 0; i < t; i++)
            {
                bool on = i < length;
                m[r, i] = on ? 1 : 0;
                lr[r, i] = on ? -3 * rng.NextDouble() - 0.01 : -99;
                lp[r, i] = on ? Math.Min(-0.001, lr[r, i] + (rng.NextDouble() - 0.5)) : -99;
            }
        }
        return new Side(lp, lr, m);
    }

    public static Tensor M(double[,] v) => tensor(v); // (B, T) float64

    /// <summary>Token-level pair inputs under the golden keys, plus any extras.</summary>
    public static PairStats Pair(Side w, Side l, Dictionary<string, Tensor>? more = null)
    {
        var extras = new Dictionary<string, Tensor>
        {
            ["policy_chosen_token_logps"] = M(w.Policy), ["reference_chosen_token_logps"] = M(w.Reference),
            ["chosen_mask"] = M(w.Mask),
            ["policy_rejected_token_logps"] = M(l.Policy), ["reference_rejected_token_logps"] = M(l.Reference),
            ["rejected_mask"] = M(l.Mask),
        };
        foreach (var (k, v) in more ?? []) extras[k] = v;
        return new PairStats(zeros(w.B, ScalarType.Float64), zeros(w.B, ScalarType.Float64), null, null,
            ones(w.B, ScalarType.Float64), ones(w.B, ScalarType.Float64)) { Extras = extras };
    }

    /// <summary>Sequence-level statistics from sums.</summary>
    public static PairStats Sums(double[] pw, double[] rw, double[] pl, double[] rl, double[]? nw = null, double[]? nl = null) =>
        new(V(pw), V(pl), V(rw), V(rl), V(nw ?? [.. pw.Select(_ => 5.0)]), V(nl ?? [.. pl.Select(_ => 5.0)]));

    /// <summary>Sequence statistics of two token sides (summed over the mask).</summary>
    public static PairStats Sums(Side w, Side l) =>
        Sums(w.PolicySums(), w.ReferenceSums(), l.PolicySums(), l.ReferenceSums(), w.Lengths, l.Lengths);

    public static double[,] Fill(int b, int t, Func<int, int, double> f)
    {
        var a = new double[b, t];
        for (int r = 0; r < b; r++)
            for (int i = 0; i < t; i++) a[r, i] = f(r, i);
        return a;
    }

}
