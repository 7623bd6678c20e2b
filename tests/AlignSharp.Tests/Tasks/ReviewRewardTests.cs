using AlignSharp.Tasks;

namespace AlignSharp.Tests.Tasks;

public sealed class ReviewRewardTests
{
    private static double Score(string completion) => ReviewReward.Default.Score("review: the film", completion);

    [Fact]
    public void Positive_reviews_score_above_neutral_above_negative()
    {
        Assert.True(Score(" was great .") > Score(" was it .") && Score(" was it .") > Score(" was awful ."));
        Assert.True(Score(" was great .") > 0.5);
        Assert.True(Score(" was awful .") < -0.5);
        Assert.True(Score(" was good .") > Score(" was bad ."));
        // Graded weights: superb (1.0) > good (0.6) > decent (0.25).
        Assert.True(Score(" was superb .") > Score(" was good .") && Score(" was good .") > Score(" was decent ."));
        // A mixed review lands between the pure ones.
        double mixed = Score(" was great , but it felt dull .");
        Assert.InRange(mixed, Score(" was dull ."), Score(" was great ."));
    }

    [Fact]
    public void One_word_of_weight_one_gives_tanh_of_one_over_saturation()
    {
        // superb has weight 1.0; Saturation 1.2; well-formed, no repeats, no unknown words.
        Assert.Equal(Math.Tanh(1.0 / 1.2), Score(" was superb ."), 12);
        Assert.Equal(0.0, Score(" was it ."), 12);
    }

    [Fact]
    public void Repeating_a_word_is_not_rewarded()
    {
        Assert.True(Score(" was good and good .") < Score(" was good ."));
        Assert.True(Score(" was great and great and great .") < Score(" was great ."));
        // Distinct words still count: good + great beats good alone.
        Assert.True(Score(" was good and great .") > Score(" was good ."));
        // Repeating a neutral word three times is penalised too.
        Assert.True(Score(" was very very very good .") < Score(" was good ."));
    }

    [Fact]
    public void Length_is_not_rewarded_by_itself()
    {
        // Neutral fillers earn nothing.
        Assert.Equal(Score(" was good ."), Score(" was really good to me overall ."), 12);
        // Past MaxWords, each extra word costs.
        string rambling = " was quite really very so good to me overall and it seemed a bit fine and it felt nice overall .";
        Assert.True(rambling.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > ReviewReward.Default.MaxWords);
        Assert.True(Score(rambling) < Score(" was good and fine and nice ."));
    }

    [Fact]
    public void Sentiment_has_diminishing_returns()
    {
        double one = Score(" was great .");
        double two = Score(" was great and superb .");
        double three = Score(" was great and superb and lovely .");
        Assert.True(two > one && three > two);
        Assert.True(three - two < two - one);
        Assert.True(three < 1.0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("qzx vvkp wrrm")]
    [InlineData("\u00ff\u00fe garbage")]
    public void Empty_or_unknown_text_scores_minus_one(string completion) => Assert.Equal(-1.0, Score(completion));

    [Fact]
    public void Malformed_text_scores_below_its_well_formed_version()
    {
        Assert.True(Score(" was great") < Score(" was great ."));
        Assert.True(Score(" was great . .") < Score(" was great ."));
        Assert.True(Score(" was great xyzzy .") < Score(" was great ."));
        // A positive word among mostly garbage is not worth much.
        Assert.True(Score(" great qq ww ee rr .") < 0);
    }

    [Fact]
    public void Every_generated_completion_scores_within_bounds_and_uses_known_words()
    {
        var known = ReviewLexicon.Default.KnownWords();
        var rng = new Random(3);
        for (int i = 0; i < 500; i++)
        {
            var c = ReviewGenerator.Default.Completion(rng, rng.NextDouble() * 2 - 1);
            var s = ReviewReward.Default.Explain(c);
            Assert.InRange(s.Total, -1.0, 1.0);
            Assert.Equal(0.0, s.UnknownShare);
            Assert.All(c.Split(' ', StringSplitOptions.RemoveEmptyEntries), w => Assert.Contains(w, known));
        }
    }
}
