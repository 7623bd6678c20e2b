using System.Text.Json.Nodes;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data.Sources;

/// <summary>
/// One record as read, before its format is interpreted: a JSON object (Parquet rows are converted to the same
/// shape), or the problem that kept it from being one (invalid UTF-8, invalid JSON, not an object).
/// </summary>
public sealed record RawRecord(SourceLocation Where, JsonObject? Fields, RecordProblem? Problem)
{
    /// <summary>A record that parsed.</summary>
    public static RawRecord Ok(SourceLocation where, JsonObject fields) => new(where, fields, null);

    /// <summary>A record that did not.</summary>
    public static RawRecord Bad(SourceLocation where, RecordIssue issue, string detail) => new(where, null, new RecordProblem(where, issue, detail));
}
