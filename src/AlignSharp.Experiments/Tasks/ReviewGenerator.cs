using System.Text;

namespace AlignSharp.Tasks;

/// <summary>
/// Writes review-like texts from a <see cref="ReviewLexicon"/>, deterministically for a seed. A prompt is
/// <c>"review: the film"</c>; a completion continues it, e.g. <c>" was really good , but it felt a bit dull ."</c>.
/// A mood in [-1, 1] sets the chance that each sentiment word is positive, so a corpus drawn with uniform moods
/// mixes praise, complaints and mixed reviews. A few completions repeat a word, so a model trained on the corpus
/// can produce repetition (which the ground-truth reward does not pay for).
/// </summary>
public sealed class ReviewGenerator(ReviewLexicon lexicon)
{
    /// <summary>Prefix of every prompt.</summary>
    public const string PromptPrefix = "review: ";

    private readonly IReadOnlyList<string> positive = lexicon.Positive;
    private readonly IReadOnlyList<string> negative = lexicon.Negative;

    /// <summary>The generator over <see cref="ReviewLexicon.Default"/>.</summary>
    public static ReviewGenerator Default { get; } = new(ReviewLexicon.Default);

    /// <summary>
    /// The generator over the part <paramref name="split"/> of <see cref="ReviewLexicon.Default"/> (see
    /// <see cref="ReviewSplit"/>): its prompts open with that part's subjects and its completions use that part's
    /// sentiment words only. The ground-truth reward (<see cref="ReviewReward.Default"/>) scores every part.
    /// </summary>
    public static ReviewGenerator For(ReviewSplit split) => new(ReviewLexicon.Default.Restrict(split));

    /// <summary>The lexicon the texts come from.</summary>
    public ReviewLexicon Lexicon => lexicon;

    /// <summary>One prompt: the prefix and a random subject.</summary>
    public string Prompt(Random rng) => PromptPrefix + Pick(rng, lexicon.Subjects);

    /// <summary><paramref name="count"/> prompts drawn with <paramref name="seed"/>.</summary>
    public IReadOnlyList<string> Prompts(int count, int seed)
    {
        if (count < 0) throw new TaskException($"prompt count must be >= 0, got {count}");
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Prompt(rng)).ToList();
    }

    /// <summary>
    /// One completion with the given mood in [-1, 1]: one to three sentiment words, each positive with probability
    /// (1 + mood) / 2, joined by "and" (same polarity) or ", but it ..." (a change of polarity), ending with " .".
    /// </summary>
    public string Completion(Random rng, double mood)
    {
        if (double.IsNaN(mood) || mood < -1 || mood > 1) throw new TaskException($"mood must be in [-1, 1], got {mood}");
        int words = Draw(rng, [0.45, 0.4, 0.15]) + 1;
        var sb = new StringBuilder();
        sb.Append(' ').Append(Pick(rng, lexicon.Verbs));
        string? previous = null;
        bool? previousPositive = null;
        for (int i = 0; i < words; i++)
        {
            bool isPositive = rng.NextDouble() < (1 + mood) / 2;
            // A small share of repeats ("good and good") keeps repetition reachable for a trained policy.
            string word = previous is not null && isPositive == previousPositive && rng.NextDouble() < 0.1
                ? previous
                : Pick(rng, isPositive ? positive : negative);
            if (i > 0)
            {
                if (isPositive == previousPositive) sb.Append(" and");
                else sb.Append(" , but it ").Append(Pick(rng, lexicon.Verbs));
            }
            if (rng.NextDouble() < 0.35) sb.Append(' ').Append(Pick(rng, lexicon.Intensifiers));
            sb.Append(' ').Append(word);
            previous = word;
            previousPositive = isPositive;
        }
        double tail = rng.NextDouble();
        if (tail < 0.08) sb.Append(" overall");
        else if (tail < 0.15) sb.Append(" to me");
        sb.Append(" .");
        return sb.ToString();
    }

    /// <summary>One full review: a prompt and a completion with a uniformly drawn mood.</summary>
    public string Review(Random rng)
    {
        var prompt = Prompt(rng);
        return prompt + Completion(rng, rng.NextDouble() * 2 - 1);
    }

    /// <summary>A pretraining/SFT corpus of <paramref name="count"/> mixed-sentiment reviews drawn with <paramref name="seed"/>.</summary>
    public IReadOnlyList<string> Corpus(int count, int seed)
    {
        if (count < 0) throw new TaskException($"corpus size must be >= 0, got {count}");
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Review(rng)).ToList();
    }

    private static string Pick(Random rng, IReadOnlyList<string> items) => items[rng.Next(items.Count)];

    private static int Draw(Random rng, double[] weights)
    {
        double u = rng.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u < 0) return i;
        }
        return weights.Length - 1;
    }
}
