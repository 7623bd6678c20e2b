using AlignSharp.Tasks;

namespace AlignSharp.Tests.Tasks;

public sealed class ReviewSplitTests
{
    private static readonly ReviewLexicon Full = ReviewLexicon.Default;

    [Fact]
    public void Seen_and_unseen_halves_partition_the_subjects_and_the_sentiment_words()
    {
        var seen = Full.Restrict(ReviewSplit.Seen);
        var unseen = Full.Restrict(ReviewSplit.Unseen);
        Assert.Empty(seen.Subjects.Intersect(unseen.Subjects));
        Assert.Equal(Full.Subjects.Order(), seen.Subjects.Concat(unseen.Subjects).Order());
        Assert.Empty(seen.Sentiment.Keys.Intersect(unseen.Sentiment.Keys));
        Assert.Equal(Full.Sentiment.Keys.Order(), seen.Sentiment.Keys.Concat(unseen.Sentiment.Keys).Order());
        // Weights are the full lexicon's; each half keeps both polarities, strong and mild.
        foreach (var half in new[] { seen, unseen })
        {
            Assert.All(half.Sentiment, kv => Assert.Equal(Full.Sentiment[kv.Key], kv.Value));
            Assert.Equal(Full.Positive.Count / 2, half.Positive.Count);
            Assert.Equal(Full.Negative.Count / 2, half.Negative.Count);
            Assert.True(half.Positive.Max(w => half.Sentiment[w]) >= 0.9);
            Assert.True(half.Negative.Min(w => half.Sentiment[w]) <= -0.9);
        }
        // The one-sided shifts change one thing each.
        var subjects = Full.Restrict(ReviewSplit.UnseenSubjects);
        var words = Full.Restrict(ReviewSplit.UnseenWords);
        Assert.Equal(unseen.Subjects, subjects.Subjects);
        Assert.Equal(seen.Sentiment.Keys.Order(), subjects.Sentiment.Keys.Order());
        Assert.Equal(seen.Subjects, words.Subjects);
        Assert.Equal(unseen.Sentiment.Keys.Order(), words.Sentiment.Keys.Order());
        Assert.Equal(Full.Verbs, words.Verbs);
    }

    [Theory]
    [InlineData(ReviewSplit.Seen)]
    [InlineData(ReviewSplit.UnseenSubjects)]
    [InlineData(ReviewSplit.UnseenWords)]
    [InlineData(ReviewSplit.Unseen)]
    public void A_split_generator_writes_only_its_own_subjects_and_sentiment_words(ReviewSplit split)
    {
        var part = Full.Restrict(split);
        var generator = ReviewGenerator.For(split);
        var rng = new Random(3);
        var used = new HashSet<string>();
        foreach (var prompt in generator.Prompts(200, seed: 4))
        {
            Assert.Contains(prompt[ReviewGenerator.PromptPrefix.Length..], part.Subjects);
            foreach (var word in generator.Completion(rng, rng.NextDouble() * 2 - 1).Split(' '))
                if (Full.Sentiment.ContainsKey(word)) used.Add(word);
        }
        Assert.Equal(part.Sentiment.Keys.Order(), used.Order()); // every word of the part, and nothing else
        Assert.Equal(split.Name(), split switch
        {
            ReviewSplit.Seen => "seen",
            ReviewSplit.UnseenSubjects => "unseen_subjects",
            ReviewSplit.UnseenWords => "unseen_words",
            _ => "unseen",
        });
    }

    [Fact]
    public void The_ground_truth_reward_scores_every_split_alike()
    {
        // Texts of unseen words are known words for the reward: no unknown-word penalty, full sentiment.
        var rng = new Random(5);
        var unseen = ReviewGenerator.For(ReviewSplit.Unseen);
        var scores = Enumerable.Range(0, 300).Select(_ => ReviewReward.Default.Score("", unseen.Completion(rng, 1.0))).ToList();
        Assert.True(scores.Average() > 0.4, $"mean reward of all-positive unseen-word texts {scores.Average():F3}");
    }
}
