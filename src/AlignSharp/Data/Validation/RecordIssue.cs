namespace AlignSharp.Data.Validation;

/// <summary>Why a record was not used. Every record read is either used or reported with one of these.</summary>
public enum RecordIssue
{
    /// <summary>The bytes of the line are not valid UTF-8.</summary>
    InvalidUtf8,
    /// <summary>The line is not valid JSON (e.g. a truncated line).</summary>
    InvalidJson,
    /// <summary>The record is JSON but not an object.</summary>
    NotAnObject,
    /// <summary>A field the format needs is absent (or null).</summary>
    MissingField,
    /// <summary>A field has the wrong JSON type (e.g. a number where text is expected).</summary>
    WrongType,
    /// <summary>A completion is empty or only whitespace.</summary>
    EmptyCompletion,
    /// <summary>The chosen and rejected completions are identical: the pair carries no preference.</summary>
    IdenticalCompletions,
    /// <summary>No prompt can be shared: chosen and rejected have no common prefix, or a rendered prompt is not a prefix of the rendered conversation.</summary>
    PromptNotSharedPrefix,
    /// <summary>A ranked record yields no pair (fewer than two responses, or all scores tied).</summary>
    NoRankedPair,
    /// <summary>The record does not fit <c>max_length</c> even after truncating the prompt.</summary>
    TooLong,
    /// <summary>A data file holds no records at all.</summary>
    EmptyFile,
    /// <summary>A token-level annotation is unusable: steps, turns, a segment out of range, a wrong sample count.</summary>
    InvalidAnnotation,
}

/// <summary>Display names of <see cref="RecordIssue"/> (snake_case, as in reports and logs).</summary>
public static class RecordIssues
{
    /// <summary>The snake_case name used in reports.</summary>
    public static string Name(this RecordIssue issue) => issue switch
    {
        RecordIssue.InvalidUtf8 => "invalid_utf8",
        RecordIssue.InvalidJson => "invalid_json",
        RecordIssue.NotAnObject => "not_an_object",
        RecordIssue.MissingField => "missing_field",
        RecordIssue.WrongType => "wrong_type",
        RecordIssue.EmptyCompletion => "empty_completion",
        RecordIssue.IdenticalCompletions => "identical_chosen_rejected",
        RecordIssue.PromptNotSharedPrefix => "prompt_not_shared_prefix",
        RecordIssue.NoRankedPair => "no_ranked_pair",
        RecordIssue.TooLong => "too_long_after_truncation",
        RecordIssue.EmptyFile => "empty_file",
        RecordIssue.InvalidAnnotation => "invalid_annotation",
        _ => throw new ArgumentOutOfRangeException(nameof(issue), issue, null),
    };
}

/// <summary>What to do with a bad record: report it and go on (<see cref="Skip"/>), or stop at the first (<see cref="Fail"/>).</summary>
public enum BadRecordPolicy
{
    /// <summary>Skip the record, count it in the <see cref="DataReport"/>.</summary>
    Skip,
    /// <summary>Throw a <see cref="DataException"/> naming the first bad record.</summary>
    Fail,
}

/// <summary>A record that was not used: where, why, and a one-line detail.</summary>
public sealed record RecordProblem(SourceLocation Where, RecordIssue Issue, string Detail)
{
    /// <inheritdoc />
    public override string ToString() => $"{Where}: {Issue.Name()}: {Detail}";
}
