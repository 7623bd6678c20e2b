namespace AlignSharp.Tasks;

/// <summary>
/// The closed vocabulary of the review task: subjects (what a prompt opens with), a sentiment lexicon with graded
/// weights in [-1, 1], and neutral words (verbs, intensifiers, connectors). Every word the generator writes is in
/// <see cref="KnownWords"/>; text outside it is malformed for the ground-truth reward.
/// </summary>
public sealed record ReviewLexicon
{
    /// <summary>Review subjects; a prompt is <c>"review: " + subject</c>.</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary>Sentiment words and their weights (positive &gt; 0, negative &lt; 0).</summary>
    public IReadOnlyDictionary<string, double> Sentiment { get; init; } = new Dictionary<string, double>();

    /// <summary>Linking verbs opening a clause ("was", "felt", ...).</summary>
    public IReadOnlyList<string> Verbs { get; init; } = [];

    /// <summary>Intensifiers placed before an adjective; neutral for the reward.</summary>
    public IReadOnlyList<string> Intensifiers { get; init; } = [];

    /// <summary>Neutral words and punctuation the grammar uses besides the lists above.</summary>
    public IReadOnlyList<string> Connectors { get; init; } = [];

    /// <summary>Every word the grammar can write (subject words, sentiment, verbs, intensifiers, connectors), as a new set.</summary>
    public HashSet<string> KnownWords()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in Subjects) foreach (var w in s.Split(' ')) set.Add(w);
        foreach (var w in Sentiment.Keys) set.Add(w);
        foreach (var list in new[] { Verbs, Intensifiers, Connectors })
            foreach (var phrase in list) foreach (var w in phrase.Split(' ')) set.Add(w);
        return set;
    }

    /// <summary>Positive words, strongest first.</summary>
    public IReadOnlyList<string> Positive => Sentiment.Where(p => p.Value > 0).OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key).ToList();

    /// <summary>Negative words, strongest first.</summary>
    public IReadOnlyList<string> Negative => Sentiment.Where(p => p.Value < 0).OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key).ToList();

    /// <summary>The default lexicon: 8 subjects, 8 positive and 8 negative graded words, small neutral lists.</summary>
    public static ReviewLexicon Default { get; } = new()
    {
        Subjects = ["the film", "the book", "the food", "the hotel", "the show", "the game", "the music", "the staff"],
        Sentiment = new Dictionary<string, double>
        {
            ["superb"] = 1.0, ["great"] = 0.9, ["lovely"] = 0.8, ["good"] = 0.6,
            ["fun"] = 0.5, ["nice"] = 0.5, ["fine"] = 0.3, ["decent"] = 0.25,
            ["awful"] = -1.0, ["terrible"] = -0.9, ["poor"] = -0.7, ["bad"] = -0.6,
            ["boring"] = -0.5, ["dull"] = -0.5, ["weak"] = -0.35, ["odd"] = -0.2,
        },
        Verbs = ["was", "is", "felt", "seemed"],
        Intensifiers = ["very", "quite", "really", "so", "a bit"],
        Connectors = ["and", "but", ",", ".", "overall", "to", "me", "it"],
    };
}
