using AlignSharp.Online;

namespace AlignSharp.Tests.Online;

public sealed class PairSelectionTests
{
    private static ScoredGroup Group(string prompt, params double[] scores) =>
        new(new SampleGroup(prompt, [1], [.. scores.Select((_, i) => new Candidate($"c{i}", [i + 2], "policy"))]),
            scores);

    private static List<(int C, int R)> Pairs(PairSection options, params ScoredGroup[] groups) =>
        [.. PairSelection.Select(groups, options, new Random(1)).Select(p => (p.Chosen, p.Rejected))];

    [Fact]
    public void Best_vs_worst_takes_the_extremes_and_skips_ties_and_invalid_groups()
    {
        var invalid = new ScoredGroup(Group("x", 1, 0).Group, [], "no verdict");
        Assert.Equal([(2, 1)],
            Pairs(new PairSection(), Group("p", 0.2, -0.5, 0.9, 0.1), Group("q", 0.3, 0.3), invalid));
    }

    [Fact]
    public void All_pairs_orient_every_differently_scored_pair_and_margin_keeps_the_wide_ones()
    {
        var g = Group("p", 0.0, 1.0, 0.1);
        Assert.Equal([(1, 0), (2, 0), (1, 2)],
            Pairs(new PairSection { Strategy = PairStrategy.AllPairs }, g));
        Assert.Equal([(1, 0), (1, 2)], Pairs(new PairSection { Strategy = PairStrategy.Margin, MinMargin = 0.5 }, g));
    }

    [Fact]
    public void Curriculum_orders_pairs_across_prompts_from_the_largest_gap_down()
    {
        var pairs = PairSelection.Select([Group("p", 0.0, 0.3), Group("q", 0.0, 1.0), Group("r", 0.5, 0.0)],
            new PairSection { Strategy = PairStrategy.Curriculum }, new Random(1));
        Assert.Equal([1.0, 0.5, 0.3], pairs.Select(p => Math.Round(p.Gap, 6)));
        Assert.Equal(["q", "r", "p"], pairs.Select(p => p.Group.Group.Prompt));
    }

    [Fact]
    public void Sweet_spot_rejects_the_candidate_nearest_the_mean_minus_k_sigma()
    {
        // Scores 0..9: mean 4.5, std 2.87; mean - 1 sigma = 1.63, nearest is 2 (index 2); mean - 0 sigma picks 4 or 5.
        var g = Group("p", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        Assert.Equal([(9, 2)], Pairs(new PairSection { Strategy = PairStrategy.SweetSpot, SweetSpotSigma = 1 }, g));
        Assert.Equal([(9, 0)], Pairs(new PairSection { Strategy = PairStrategy.SweetSpot, SweetSpotSigma = 3 }, g));
        Assert.Empty(Pairs(new PairSection { Strategy = PairStrategy.SweetSpot }, Group("t", 1, 1, 1)));
    }

    [Fact]
    public void Random_pairs_are_seeded_one_per_prompt_and_always_oriented()
    {
        var groups = Enumerable.Range(0, 50).Select(i => Group($"p{i}", 0.1 * (i % 3), 1.0, -1.0, 0.5)).ToArray();
        var options = new PairSection { Strategy = PairStrategy.Random };
        var a = PairSelection.Select(groups, options, new Random(7));
        Assert.Equal(50, a.Count);
        Assert.All(a, p => Assert.True(p.ChosenScore > p.RejectedScore));
        Assert.Equal(a.Select(p => (p.Chosen, p.Rejected)), PairSelection.Select(groups, options, new Random(7))
            .Select(p => (p.Chosen, p.Rejected)));
        Assert.True(a.Select(p => (p.Chosen, p.Rejected)).Distinct().Count() > 3);
    }
}
