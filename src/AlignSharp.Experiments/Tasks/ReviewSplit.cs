namespace AlignSharp.Tasks;

/// <summary>
/// A named part of the review task, for measuring how a reward learned on one part generalises to another
/// (distribution shift). The default lexicon is cut in two halves: subjects at even positions of
/// <see cref="ReviewLexicon.Subjects"/> are seen, the others unseen; sentiment words at even ranks of
/// <see cref="ReviewLexicon.Positive"/> and of <see cref="ReviewLexicon.Negative"/> (strongest first) are seen, the
/// others unseen, so each half keeps strong and mild words of both polarities. Preference training pairs are written
/// from <see cref="Seen"/>; a shifted test set changes the prompts, the completions' sentiment words, or both.
/// Verbs, intensifiers and connectors are shared by every part. <see cref="ReviewGenerator.For(ReviewSplit)"/> writes
/// texts from a part.
/// </summary>
public enum ReviewSplit
{
    /// <summary>Seen subjects and seen sentiment words: what the training pairs cover (and its in-distribution test).</summary>
    Seen,

    /// <summary>Prompt shift: subjects the training pairs never open with, seen sentiment words.</summary>
    UnseenSubjects,

    /// <summary>Completion shift: sentiment words the training pairs never contain, seen subjects.</summary>
    UnseenWords,

    /// <summary>Both shifts at once: unseen subjects and unseen sentiment words.</summary>
    Unseen,
}

/// <summary>The lexicon of each <see cref="ReviewSplit"/>.</summary>
public static class ReviewSplits
{
    /// <summary>Every split, in the order reports list them.</summary>
    public static IReadOnlyList<ReviewSplit> All { get; } =
        [ReviewSplit.Seen, ReviewSplit.UnseenSubjects, ReviewSplit.UnseenWords, ReviewSplit.Unseen];

    /// <summary>The split's report name (snake case): seen, unseen_subjects, unseen_words, unseen.</summary>
    public static string Name(this ReviewSplit split) => split switch
    {
        ReviewSplit.Seen => "seen",
        ReviewSplit.UnseenSubjects => "unseen_subjects",
        ReviewSplit.UnseenWords => "unseen_words",
        ReviewSplit.Unseen => "unseen",
        _ => throw new TaskException($"unknown review split {split}"),
    };

    /// <summary>
    /// The part of <paramref name="lexicon"/> that texts of <paramref name="split"/> are written from: its seen or
    /// unseen subjects and sentiment words (weights kept), every neutral list whole.
    /// </summary>
    public static ReviewLexicon Restrict(this ReviewLexicon lexicon, ReviewSplit split)
    {
        bool seenSubjects = split is ReviewSplit.Seen or ReviewSplit.UnseenWords;
        bool seenWords = split is ReviewSplit.Seen or ReviewSplit.UnseenSubjects;
        if (lexicon.Subjects.Count < 2 || lexicon.Positive.Count < 2 || lexicon.Negative.Count < 2)
            throw new TaskException("a lexicon needs at least two subjects and two words of each polarity to be split");
        var words = Half(lexicon.Positive, seenWords).Concat(Half(lexicon.Negative, seenWords));
        return lexicon with
        {
            Subjects = Half(lexicon.Subjects, seenSubjects),
            Sentiment = words.ToDictionary(w => w, w => lexicon.Sentiment[w], StringComparer.Ordinal),
        };
    }

    /// <summary>Items at even positions (<paramref name="even"/>) or at odd positions.</summary>
    private static List<string> Half(IReadOnlyList<string> items, bool even) =>
        items.Where((_, i) => i % 2 == (even ? 0 : 1)).ToList();
}
