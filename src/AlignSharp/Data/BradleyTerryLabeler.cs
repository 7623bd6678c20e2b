namespace AlignSharp.Data;

/// <summary>
/// Labels completion pairs with a Bradley-Terry draw on a ground-truth reward: completion a is preferred with
/// probability <c>σ(Scale · (r(a) - r(b)))</c>, drawn from a seeded generator, so labels are noisy the way human
/// preferences are and exactly reproducible. Each example carries <c>chosen_score</c>, <c>rejected_score</c> and
/// <c>chosen_win_prob</c> as extras.
/// </summary>
public sealed class BradleyTerryLabeler(IRewardFunction reward, double scale = 5.0)
{
    /// <summary>Inverse temperature of the draw: larger means labels follow the reward more closely.</summary>
    public double Scale { get; } = scale >= 0 && double.IsFinite(scale) ? scale : throw new LabelingException($"Bradley-Terry scale must be a finite number >= 0, got {scale}");

    /// <summary>
    /// One preference example per prompt from two completions each. Pairs whose completions are identical carry no
    /// preference and are left out. <paramref name="sourceName"/> names the rows' origin (row index = line).
    /// </summary>
    public IReadOnlyList<PreferenceExample> Label(IReadOnlyList<string> prompts, IReadOnlyList<string> first, IReadOnlyList<string> second, int seed, string sourceName = "generated")
    {
        if (first.Count != prompts.Count || second.Count != prompts.Count)
            throw new LabelingException($"need one completion pair per prompt: {prompts.Count} prompts, {first.Count} and {second.Count} completions");
        var rng = new Random(seed);
        var pairs = new List<PreferenceExample>();
        for (int i = 0; i < prompts.Count; i++)
        {
            // Draw before the identity check so the labels of later rows do not depend on which rows were dropped.
            double u = rng.NextDouble();
            if (first[i] == second[i]) continue;
            double ra = reward.Score(prompts[i], first[i]), rb = reward.Score(prompts[i], second[i]);
            double pa = 1 / (1 + Math.Exp(-Scale * (ra - rb)));
            bool aWins = u < pa;
            pairs.Add(new PreferenceExample(prompts[i], aWins ? first[i] : second[i], aWins ? second[i] : first[i], new SourceLocation(sourceName, i + 1))
            {
                Extras = new Dictionary<string, double>
                {
                    ["chosen_score"] = aWins ? ra : rb,
                    ["rejected_score"] = aWins ? rb : ra,
                    ["chosen_win_prob"] = aWins ? pa : 1 - pa,
                },
            });
        }
        return pairs;
    }
}

/// <summary>Labelling could not run: mismatched inputs or a bad setting.</summary>
public sealed class LabelingException(string message) : AlignSharpException(message);
