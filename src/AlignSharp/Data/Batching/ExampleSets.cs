namespace AlignSharp.Data.Batching;

/// <summary>
/// The tokenized examples a trainer batches, of one <see cref="BatchKind"/>: how many, how long each is (for length
/// bucketing) and how a set of them collates into one <see cref="PreferenceBatch"/>. The trainer has one loop and one
/// step for every kind.
/// </summary>
public interface IExampleSet
{
    /// <summary>Pairs or unpaired examples.</summary>
    BatchKind Kind { get; }

    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>Tokens of example <paramref name="index"/>'s longest row: the width it needs in a batch.</summary>
    int Length(int index);

    /// <summary>Numeric extra columns of example <paramref name="index"/>.</summary>
    IReadOnlyDictionary<string, double> Extras(int index);

    /// <summary>Where example <paramref name="index"/> was read.</summary>
    SourceLocation Source(int index);

    /// <summary>Collates the examples at <paramref name="indices"/> (the caller disposes the batch).</summary>
    PreferenceBatch Collate(IReadOnlyList<int> indices, int padId);
}

/// <summary>Preference pairs.</summary>
/// <param name="Items">The tokenized pairs.</param>
public sealed record PairExamples(IReadOnlyList<TokenizedPair> Items) : IExampleSet
{
    /// <inheritdoc />
    public BatchKind Kind => BatchKind.Pairs;

    /// <inheritdoc />
    public int Count => Items.Count;

    /// <inheritdoc />
    public int Length(int index) => Items[index].Length;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Extras(int index) => Items[index].Example.Extras;

    /// <inheritdoc />
    public SourceLocation Source(int index) => Items[index].Example.Source;

    /// <inheritdoc />
    public PreferenceBatch Collate(IReadOnlyList<int> indices, int padId) =>
        PreferenceCollator.Collate([.. indices.Select(i => Items[i])], padId);
}

/// <summary>Unpaired (prompt, completion, desirable/undesirable) examples, as KTO trains on.</summary>
/// <param name="Items">The tokenized examples.</param>
public sealed record UnpairedExamples(IReadOnlyList<TokenizedUnpaired> Items) : IExampleSet
{
    /// <inheritdoc />
    public BatchKind Kind => BatchKind.Unpaired;

    /// <inheritdoc />
    public int Count => Items.Count;

    /// <inheritdoc />
    public int Length(int index) => Items[index].Prompt.Length + Items[index].Completion.Length;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Extras(int index) => Items[index].Example.Extras;

    /// <inheritdoc />
    public SourceLocation Source(int index) => Items[index].Example.Source;

    /// <inheritdoc />
    public PreferenceBatch Collate(IReadOnlyList<int> indices, int padId) =>
        PreferenceCollator.Collate([.. indices.Select(i => Items[i])], padId);
}

/// <summary>Prompts with N scored, step-split responses (TPO's trees, OREO's outcome records), N rows each.</summary>
/// <param name="Items">The tokenized trees, all with the same N.</param>
public sealed record TreeExamples(IReadOnlyList<TokenizedTree> Items) : IExampleSet
{
    /// <inheritdoc />
    public BatchKind Kind => BatchKind.Responses;

    /// <inheritdoc />
    public int Count => Items.Count;

    /// <inheritdoc />
    public int Length(int index) => Items[index].Length;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Extras(int index) => new Dictionary<string, double>();

    /// <inheritdoc />
    public SourceLocation Source(int index) => Items[index].Example.Source;

    /// <inheritdoc />
    public PreferenceBatch Collate(IReadOnlyList<int> indices, int padId) =>
        PreferenceCollator.Collate([.. indices.Select(i => Items[i])], padId);
}
