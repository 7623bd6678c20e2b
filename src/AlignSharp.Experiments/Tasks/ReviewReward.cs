using AlignSharp.Data;
using AlignSharp.Evaluation;

namespace AlignSharp.Tasks;

/// <summary>
/// The review task's ground-truth reward in [-1, 1], built to be hard to game:
/// <list type="bullet">
/// <item>sentiment counts each distinct lexicon word once and saturates: <c>tanh(Σ distinct weights / Saturation)</c>,
/// so a third strong word adds little;</item>
/// <item>every repeated occurrence of a lexicon word, and a third or later occurrence of any other word, costs
/// <see cref="RepeatPenalty"/>;</item>
/// <item>length earns nothing by itself (neutral words add 0), and words past <see cref="MaxWords"/> cost
/// <see cref="LengthPenalty"/> each;</item>
/// <item>malformed text scores low: empty text is -1, the share u of unknown words scales sentiment by (1 - u) and
/// subtracts u, and a text not ending in exactly one final " ." costs <see cref="FormPenalty"/>.</item>
/// </list>
/// Words are whitespace-separated tokens; the prompt is not scored.
/// </summary>
public sealed class ReviewReward : IRewardFunction
{
    private readonly ReviewLexicon lexicon;
    private readonly HashSet<string> known;

    /// <summary>Creates the reward over <paramref name="lexicon"/>.</summary>
    public ReviewReward(ReviewLexicon lexicon)
    {
        this.lexicon = lexicon;
        known = lexicon.KnownWords();
    }

    /// <summary>The reward over <see cref="ReviewLexicon.Default"/>.</summary>
    public static ReviewReward Default { get; } = new(ReviewLexicon.Default);

    /// <summary>Divisor inside the tanh: one word of weight 1 gives tanh(1/1.2) = 0.68.</summary>
    public double Saturation { get; init; } = 1.2;

    /// <summary>Cost of each repeated word occurrence.</summary>
    public double RepeatPenalty { get; init; } = 0.3;

    /// <summary>Words allowed before the length penalty starts.</summary>
    public int MaxWords { get; init; } = 14;

    /// <summary>Cost of each word past <see cref="MaxWords"/>.</summary>
    public double LengthPenalty { get; init; } = 0.05;

    /// <summary>Cost of a text that does not end in exactly one " .".</summary>
    public double FormPenalty { get; init; } = 0.3;

    /// <inheritdoc />
    public double Score(string prompt, string completion) => Explain(completion).Total;

    /// <summary>The reward of <paramref name="completion"/> with its parts.</summary>
    public ReviewScore Explain(string completion)
    {
        var words = completion.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return new ReviewScore(-1, 0, 0, 0, 1, 0, 0);

        int unknown = words.Count(w => !known.Contains(w));
        double unknownShare = (double)unknown / words.Length;

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var w in words) counts[w] = counts.GetValueOrDefault(w) + 1;
        double weightSum = 0;
        int repeats = 0;
        foreach (var (word, n) in counts)
        {
            if (lexicon.Sentiment.TryGetValue(word, out var weight))
            {
                weightSum += weight;
                repeats += n - 1;
            }
            else if (word != "." && word != ",")
            {
                repeats += Math.Max(0, n - 2);
            }
        }
        double sentiment = Math.Tanh(weightSum / Saturation);

        bool wellFormed = words[^1] == "." && counts.GetValueOrDefault(".") == 1;
        double penalties = repeats * RepeatPenalty
            + Math.Max(0, words.Length - MaxWords) * LengthPenalty
            + (wellFormed ? 0 : FormPenalty);
        double total = Math.Clamp(sentiment * (1 - unknownShare) - unknownShare - penalties, -1, 1);
        return new ReviewScore(total, sentiment, repeats, words.Length, unknownShare, penalties, counts.Keys.Count(lexicon.Sentiment.ContainsKey));
    }
}

/// <summary>A review reward with its parts, for reports and tests.</summary>
/// <param name="Total">The reward in [-1, 1].</param>
/// <param name="Sentiment">Saturated sentiment of the distinct lexicon words, in (-1, 1).</param>
/// <param name="Repeats">Repeated occurrences that were penalised.</param>
/// <param name="Words">Whitespace-separated tokens.</param>
/// <param name="UnknownShare">Share of tokens outside the task vocabulary.</param>
/// <param name="Penalties">Sum of repeat, length and form penalties.</param>
/// <param name="DistinctSentimentWords">Distinct lexicon words found.</param>
public sealed record ReviewScore(double Total, double Sentiment, int Repeats, int Words, double UnknownShare, double Penalties, int DistinctSentimentWords);
