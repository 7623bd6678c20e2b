namespace AlignSharp.Data;

/// <summary>Where a record came from, for error messages and reports: file and 1-based line (or row).</summary>
public sealed record SourceLocation(string File, long Line)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>
/// One preference pair as text: the prompt and two completions, the first preferred. Numeric extras carry
/// per-pair inputs some objectives need (chosen_score, rejected_score, chosen_win_prob, ...) by column name.
/// </summary>
public sealed record PreferenceExample(string Prompt, string Chosen, string Rejected, SourceLocation Source)
{
    /// <summary>Extra numeric columns by name.</summary>
    public IReadOnlyDictionary<string, double> Extras { get; init; } = new Dictionary<string, double>();
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
