namespace AlignSharp.Data;

/// <summary>
/// Where a record came from, for error messages and reports: file and 1-based line (text formats) or row
/// (<see cref="IsRow"/>, Parquet). Line 0 means the file as a whole.
/// </summary>
public sealed record SourceLocation(string File, long Line)
{
    /// <summary>True when <see cref="Line"/> is a 1-based row number (Parquet) rather than a text line.</summary>
    public bool IsRow { get; init; }

    /// <summary>The file as a whole (no line).</summary>
    public static SourceLocation WholeFile(string file) => new(file, 0);

    /// <inheritdoc />
    public override string ToString() => Line == 0 ? File : IsRow ? $"{File}:row {Line}" : $"{File}:{Line}";
}

/// <summary>
/// One preference pair as text: the prompt and two completions, the first preferred. Numeric extras carry
/// per-pair inputs some objectives need (chosen_score, rejected_score, chosen_win_prob, ...) by column name.
/// </summary>
public sealed record PreferenceExample(string Prompt, string Chosen, string Rejected, SourceLocation Source)
{
    /// <summary>Extra numeric columns by name.</summary>
    public IReadOnlyDictionary<string, double> Extras { get; init; } = new Dictionary<string, double>();

    /// <summary>Token-level structure from the token-level record formats (steps, turns, segment, ...), or null.</summary>
    public Formats.PairAnnotations? Annotations { get; init; }
}

/// <summary>A data error: its message starts with the file and line at fault.</summary>
public sealed class DataException(SourceLocation where, string reason)
    : AlignSharpException($"{where}: {reason}")
{
    /// <summary>The record at fault.</summary>
    public SourceLocation Where { get; } = where;

    /// <summary>The reason without the location.</summary>
    public string Reason { get; } = reason;
}
