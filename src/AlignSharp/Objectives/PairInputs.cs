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

    /// <summary>
    /// An extra (B) input, present, of the batch's size and finite. It is looked up by its key (e.g.
    /// <c>chosen_scores</c>) and then by the dataset column the catalog declares for it (<c>chosen_score</c>), so
    /// a batch's numeric columns can be passed as extras unchanged.
    /// </summary>
    public static Tensor Vector(PairStats s, string objective, string key)
    {
        string? column = ObjectiveCatalog.Find(objective)?.Inputs.FirstOrDefault(i => i.Key == key)?.Column;
        var t = s.Extras.TryGetValue(key, out var byKey) ? byKey
            : column is not null && s.Extras.TryGetValue(column, out var byColumn) ? byColumn
            : throw new ObjectiveException(
                $"objective '{objective}' needs the per-pair input '{key}'{(column is null ? "" : $" (dataset column '{column}')")}");
        if (t.dim() != 1 || t.shape[0] != s.Count)
            throw new ObjectiveException($"objective '{objective}': input '{key}' must have shape ({s.Count}), got ({string.Join(", ", t.shape)})");
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
