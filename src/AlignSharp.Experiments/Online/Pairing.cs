namespace AlignSharp.Online;

/// <summary>A training pair chosen from a scored group: candidate indices with their scores.</summary>
/// <param name="Group">The scored group.</param>
/// <param name="Chosen">Index of the chosen candidate.</param>
/// <param name="Rejected">Index of the rejected candidate.</param>
public sealed record OnlinePair(ScoredGroup Group, int Chosen, int Rejected)
{
    /// <summary>Score of the chosen candidate.</summary>
    public double ChosenScore => Group.Scores[Chosen];

    /// <summary>Score of the rejected candidate.</summary>
    public double RejectedScore => Group.Scores[Rejected];

    /// <summary>Score gap (&gt; 0).</summary>
    public double Gap => ChosenScore - RejectedScore;
}

/// <summary>
/// The pair step: scored groups to training pairs, in training order. Invalid groups and ties never make a pair; the
/// chosen candidate always scores strictly higher than the rejected one.
/// </summary>
public static class PairSelection
{
    /// <summary>
    /// Pairs of every valid group under <paramref name="options"/>, drawn with <paramref name="rng"/>.
    /// </summary>
    public static List<OnlinePair> Select(IReadOnlyList<ScoredGroup> groups, PairSection options, Random rng)
    {
        var pairs = new List<OnlinePair>();
        foreach (var g in groups.Where(g => g.IsValid))
        {
            var s = g.Scores;
            switch (options.Strategy)
            {
                case PairStrategy.BestVsWorst:
                    {
                        int best = ArgMax(s), worst = ArgMin(s);
                        if (s[best] > s[worst]) pairs.Add(new OnlinePair(g, best, worst));
                        break;
                    }
                case PairStrategy.Random:
                    {
                        var options2 = Ordered(g).ToList();
                        // The draw happens for every group, so later groups do not depend on which groups had ties.
                        int pick = rng.Next(Math.Max(1, options2.Count));
                        if (options2.Count > 0) pairs.Add(options2[pick]);
                        break;
                    }
                case PairStrategy.AllPairs:
                case PairStrategy.Curriculum:
                    pairs.AddRange(Ordered(g));
                    break;
                case PairStrategy.Margin:
                    pairs.AddRange(Ordered(g).Where(p => p.Gap >= options.MinMargin));
                    break;
                case PairStrategy.SweetSpot:
                    {
                        int best = ArgMax(s);
                        double mean = s.Average(), std = Math.Sqrt(s.Average(v => (v - mean) * (v - mean)));
                        double target = mean - options.SweetSpotSigma * std;
                        int rejected = Enumerable.Range(0, s.Count).Where(i => s[i] < s[best])
                            .OrderBy(i => Math.Abs(s[i] - target)).ThenBy(i => i).DefaultIfEmpty(-1).First();
                        if (rejected >= 0) pairs.Add(new OnlinePair(g, best, rejected));
                        break;
                    }
            }
        }
        if (options.Strategy == PairStrategy.Curriculum)
            return [.. pairs.Select((p, i) => (p, i)).OrderByDescending(x => x.p.Gap).ThenBy(x => x.i)
                .Select(x => x.p)];
        return pairs;
    }

    /// <summary>Every (i, j) with different scores, oriented higher-first, in index order.</summary>
    private static IEnumerable<OnlinePair> Ordered(ScoredGroup g)
    {
        var s = g.Scores;
        for (int i = 0; i < s.Count; i++)
            for (int j = i + 1; j < s.Count; j++)
                if (s[i] != s[j]) yield return s[i] > s[j] ? new OnlinePair(g, i, j) : new OnlinePair(g, j, i);
    }

    private static int ArgMax(IReadOnlyList<double> s)
    {
        int best = 0;
        for (int i = 1; i < s.Count; i++) if (s[i] > s[best]) best = i;
        return best;
    }

    private static int ArgMin(IReadOnlyList<double> s)
    {
        int worst = 0;
        for (int i = 1; i < s.Count; i++) if (s[i] < s[worst]) worst = i;
        return worst;
    }
}
