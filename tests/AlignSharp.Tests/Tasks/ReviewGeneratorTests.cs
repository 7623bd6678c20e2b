using AlignSharp.Tasks;

namespace AlignSharp.Tests.Tasks;

public sealed class ReviewGeneratorTests
{
    [Fact]
    public void Same_seed_gives_the_same_corpus_and_another_seed_a_different_one()
    {
        var a = ReviewGenerator.Default.Corpus(200, seed: 11);
        var b = ReviewGenerator.Default.Corpus(200, seed: 11);
        var c = ReviewGenerator.Default.Corpus(200, seed: 12);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(ReviewGenerator.Default.Prompts(50, 5), ReviewGenerator.Default.Prompts(50, 5));
    }

    [Fact]
    public void Reviews_are_a_prompt_followed_by_a_short_completion()
    {
        var subjects = ReviewLexicon.Default.Subjects.Select(s => ReviewGenerator.PromptPrefix + s).ToList();
        foreach (var review in ReviewGenerator.Default.Corpus(300, seed: 1))
        {
            var prompt = subjects.Single(review.StartsWith);
            var completion = review[prompt.Length..];
            Assert.StartsWith(" ", completion);
            Assert.EndsWith(" .", completion);
            Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(review), 20, 90);
        }
    }

    [Fact]
    public void The_corpus_mixes_praise_and_complaints()
    {
        var reward = ReviewReward.Default;
        var scores = ReviewGenerator.Default.Corpus(1000, seed: 2)
            .Select(r => reward.Score("", r[(r.IndexOf(' ', ReviewGenerator.PromptPrefix.Length) + 1)..]))
            .ToList();
        Assert.InRange(scores.Count(s => s > 0.3) / 1000.0, 0.25, 0.6);
        Assert.InRange(scores.Count(s => s < -0.3) / 1000.0, 0.25, 0.6);
        Assert.InRange(scores.Average(), -0.15, 0.15);
    }

    [Fact]
    public void Mood_steers_sentiment()
    {
        var rng = new Random(4);
        double Mean(double mood) => Enumerable.Range(0, 400).Average(_ => ReviewReward.Default.Score("", ReviewGenerator.Default.Completion(rng, mood)));
        Assert.True(Mean(1) > 0.5);
        Assert.True(Mean(-1) < -0.5);
    }

    [Fact]
    public void Bad_counts_and_moods_are_rejected_with_the_setting_named()
    {
        Assert.Contains("corpus size", Assert.Throws<TaskException>(() => ReviewGenerator.Default.Corpus(-1, 0)).Message);
        Assert.Contains("mood", Assert.Throws<TaskException>(() => ReviewGenerator.Default.Completion(new Random(0), 2)).Message);
    }
}
