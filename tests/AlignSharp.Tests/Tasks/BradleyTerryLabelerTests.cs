using AlignSharp.Data;
using AlignSharp.Tasks;

namespace AlignSharp.Tests.Tasks;

public sealed class BradleyTerryLabelerTests
{
    private static (List<string> Prompts, List<string> A, List<string> B) Completions(int n, int seed)
    {
        var rng = new Random(seed);
        var prompts = ReviewGenerator.Default.Prompts(n, seed).ToList();
        var a = prompts.Select(_ => ReviewGenerator.Default.Completion(rng, rng.NextDouble() * 2 - 1)).ToList();
        var b = prompts.Select(_ => ReviewGenerator.Default.Completion(rng, rng.NextDouble() * 2 - 1)).ToList();
        return (prompts, a, b);
    }

    [Fact]
    public void Labels_are_reproducible_and_carry_scores()
    {
        var (p, a, b) = Completions(200, 1);
        var labeler = new BradleyTerryLabeler(ReviewReward.Default);
        var x = labeler.Label(p, a, b, seed: 9);
        var y = labeler.Label(p, a, b, seed: 9);
        Assert.Equal(x.Select(e => (e.Chosen, e.Rejected)), y.Select(e => (e.Chosen, e.Rejected)));
        foreach (var e in x)
        {
            Assert.Equal(ReviewReward.Default.Score(e.Prompt, e.Chosen), e.Extras["chosen_score"], 12);
            Assert.Equal(ReviewReward.Default.Score(e.Prompt, e.Rejected), e.Extras["rejected_score"], 12);
            double expected = 1 / (1 + Math.Exp(-5 * (e.Extras["chosen_score"] - e.Extras["rejected_score"])));
            Assert.Equal(expected, e.Extras["chosen_win_prob"], 12);
        }
    }

    [Fact]
    public void Labels_follow_the_reward_as_the_scale_grows()
    {
        var (p, a, b) = Completions(2000, 2);
        double Agreement(double scale)
        {
            var pairs = new BradleyTerryLabeler(ReviewReward.Default, scale).Label(p, a, b, seed: 3)
                .Where(e => e.Extras["chosen_score"] != e.Extras["rejected_score"]).ToList();
            return pairs.Count(e => e.Extras["chosen_score"] > e.Extras["rejected_score"]) / (double)pairs.Count;
        }
        double none = Agreement(0), some = Agreement(5), sharp = Agreement(1000);
        Assert.InRange(none, 0.45, 0.55); // a fair coin
        Assert.InRange(some, 0.7, 0.95);
        Assert.True(sharp > 0.995);
    }

    [Fact]
    public void Identical_completions_are_left_out()
    {
        var labeler = new BradleyTerryLabeler(ReviewReward.Default);
        var pairs = labeler.Label(["review: the film", "review: the book"], [" was good .", " was bad ."], [" was good .", " was great ."], seed: 0);
        var only = Assert.Single(pairs);
        Assert.Equal("review: the book", only.Prompt);
        Assert.Equal(2, only.Source.Line);
    }

    [Fact]
    public void Pairs_round_trip_through_jsonl()
    {
        var (p, a, b) = Completions(30, 4);
        var pairs = new BradleyTerryLabeler(ReviewReward.Default).Label(p, a, b, seed: 1);
        var dir = Directory.CreateTempSubdirectory("alignsharp-bt-");
        try
        {
            var path = Path.Combine(dir.FullName, "pairs.jsonl");
            PreferenceJsonlWriter.Write(path, pairs);
            var back = JsonlPreferenceReader.Read(path).ToList();
            Assert.Equal(pairs.Count, back.Count);
            for (int i = 0; i < pairs.Count; i++)
            {
                Assert.Equal((pairs[i].Prompt, pairs[i].Chosen, pairs[i].Rejected), (back[i].Prompt, back[i].Chosen, back[i].Rejected));
                Assert.Equal(pairs[i].Extras["chosen_score"], back[i].Extras["chosen_score"]);
            }
            Assert.False(File.Exists(path + ".tmp"));
            Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary left beside it
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Mismatched_lists_and_bad_scales_are_errors()
    {
        Assert.Contains("one completion pair per prompt", Assert.Throws<LabelingException>(() =>
            new BradleyTerryLabeler(ReviewReward.Default).Label(["x"], [], [], 0)).Message);
        Assert.Contains("scale", Assert.Throws<LabelingException>(() => new BradleyTerryLabeler(ReviewReward.Default, -1)).Message);
    }
}
