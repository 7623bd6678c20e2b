using System.Globalization;
using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Reading and validating the inputs of one batch for one objective. Every problem is an
/// <see cref="ObjectiveException"/> naming the objective, the key and the pair index, never a NaN later on.
/// </summary>
internal static class PairInputs
{
    /// <summary>Log-ratios cw = pw − rw and cl = pl − rl (B).</summary>
    public static (Tensor Chosen, Tensor Rejected) LogRatios(PairStats s, string objective)
    {
        var (rw, rl) = s.RequireReference(objective);
        return (s.PolicyChosen - rw, s.PolicyRejected - rl);
    }

    /// <summary>Length-averaged policy log-probs aw = pw/nw, al = pl/nl (B), after checking every length is positive.</summary>
    public static (Tensor Chosen, Tensor Rejected) Averages(PairStats s, string objective)
    {
        var (nw, nl) = Lengths(s, objective);
        return (s.PolicyChosen / nw, s.PolicyRejected / nl);
    }

    /// <summary>The completion lengths (B), checked to be positive and finite.</summary>
    public static (Tensor Chosen, Tensor Rejected) Lengths(PairStats s, string objective)
    {
        CheckEach(objective, "chosen_lengths", s.ChosenLengths, v => v > 0, "must be a positive token count");
        CheckEach(objective, "rejected_lengths", s.RejectedLengths, v => v > 0, "must be a positive token count");
        return (s.ChosenLengths, s.RejectedLengths);
    }

    /// <summary>A dataset column's (B) values, present, of the batch's size and finite.</summary>
    public static Tensor Vector(PairStats s, string objective, DatasetColumn column) =>
        Checked(s, objective, column.Key, s.Get(column, objective));

    /// <summary>Reward-head outputs (B) each, present, of the batch's size and finite.</summary>
    public static (Tensor Chosen, Tensor Rejected) Heads(PairStats s, string objective, HeadRewards request)
    {
        var v = s.Get(request, objective);
        return (Checked(s, objective, HeadRewards.ChosenKey, v.Chosen),
            Checked(s, objective, HeadRewards.RejectedKey, v.Rejected));
    }

    private static Tensor Checked(PairStats s, string objective, string key, Tensor t)
    {
        if (t.dim() != 1 || t.shape[0] != s.Count)
            throw new ObjectiveException(
                $"objective '{objective}': input '{key}' must have shape ({s.Count}), got ({string.Join(", ", t.shape)})");
        CheckEach(objective, key, t, _ => true, "");
        return t;
    }

    /// <summary>Host copy of a (N) tensor as doubles.</summary>
    public static double[] Values(Tensor t) => t.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();

    /// <summary>Fails on the first pair whose value is not finite or breaks <paramref name="ok"/>.</summary>
    public static void CheckEach(string objective, string key, Tensor t, Func<double, bool> ok, string requirement)
    {
        var v = Values(t);
        for (int i = 0; i < v.Length; i++)
        {
            if (!double.IsFinite(v[i]))
                throw new ObjectiveException($"objective '{objective}': input '{key}' at pair {i} is not finite ({Format(v[i])})");
            if (!ok(v[i]))
                throw new ObjectiveException($"objective '{objective}': input '{key}' at pair {i} {requirement}, got {Format(v[i])}");
        }
    }

    /// <summary>A number as written in messages.</summary>
    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
