namespace AlignSharp.Data;

/// <summary>
/// Holds out a fraction of the data for evaluation, deterministically under a seed. Examples from the same source
/// record (e.g. the pairs of one ranked prompt) stay on the same side, so evaluation never sees a training prompt.
/// Both sides keep the data's order.
/// </summary>
public static class DataSplit
{
    /// <summary>Splits <paramref name="items"/> into train and eval; eval gets round(fraction x records) records.</summary>
    public static (List<T> Train, List<T> Eval) TrainEval<T>(IReadOnlyList<T> items, Func<T, SourceLocation> source, double evalFraction, int seed)
    {
        if (evalFraction is < 0 or >= 1 || double.IsNaN(evalFraction))
            throw new ArgumentOutOfRangeException(nameof(evalFraction), evalFraction, "eval fraction must be in [0, 1)");
        var groups = items.Select(source).Distinct().ToArray();
        int nEval = (int)Math.Round(groups.Length * evalFraction, MidpointRounding.AwayFromZero);
        if (evalFraction > 0 && nEval == 0 && groups.Length > 1) nEval = 1;
        var order = groups.ToArray();
        new Random(seed).Shuffle(order);
        var eval = order.Take(nEval).ToHashSet();
        var train = new List<T>();
        var held = new List<T>();
        foreach (var item in items) (eval.Contains(source(item)) ? held : train).Add(item);
        return (train, held);
    }
}
