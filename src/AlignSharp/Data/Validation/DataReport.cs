using System.Text;

namespace AlignSharp.Data.Validation;

/// <summary>
/// What loading found: records read, used and reported (counts per <see cref="RecordIssue"/> with the first few
/// examples of each), pairs produced, and how many records truncation touched. Nothing is dropped without a count here.
/// </summary>
public sealed class DataReport
{
    private readonly Dictionary<RecordIssue, int> _counts = [];
    private readonly Dictionary<RecordIssue, List<RecordProblem>> _examples = [];

    /// <summary>Creates an empty report keeping up to <paramref name="examplesPerIssue"/> examples per issue.</summary>
    public DataReport(int examplesPerIssue = 3) => ExamplesPerIssue = examplesPerIssue;

    /// <summary>Examples kept per issue.</summary>
    public int ExamplesPerIssue { get; }

    /// <summary>Records read (lines, array elements, rows), including bad ones.</summary>
    public int RecordsRead { get; set; }

    /// <summary>Records turned into at least one example.</summary>
    public int RecordsUsed { get; set; }

    /// <summary>Examples produced (pairs; several per ranked record; unpaired examples for KTO data).</summary>
    public int ExamplesProduced { get; set; }

    /// <summary>Examples whose prompt was truncated (kept start or end, see the tokenization settings).</summary>
    public int PromptTruncated { get; set; }

    /// <summary>Examples whose chosen or rejected completion was cut to fit max_length.</summary>
    public int CompletionTruncated { get; set; }

    /// <summary>Records reported as not used.</summary>
    public int RecordsReported => _counts.Where(kv => kv.Key != RecordIssue.EmptyFile && kv.Key != RecordIssue.TooLong).Sum(kv => kv.Value);

    /// <summary>Examples dropped at tokenization (too long even after truncation).</summary>
    public int ExamplesTooLong => Count(RecordIssue.TooLong);

    /// <summary>Counts per issue.</summary>
    public IReadOnlyDictionary<RecordIssue, int> Counts => _counts;

    /// <summary>The first few problems of each issue.</summary>
    public IReadOnlyDictionary<RecordIssue, List<RecordProblem>> Examples => _examples;

    /// <summary>Number of problems of one kind.</summary>
    public int Count(RecordIssue issue) => _counts.GetValueOrDefault(issue);

    /// <summary>Records a problem (counted; kept as an example while fewer than <see cref="ExamplesPerIssue"/> are).</summary>
    public void Add(RecordProblem problem)
    {
        _counts[problem.Issue] = Count(problem.Issue) + 1;
        if (!_examples.TryGetValue(problem.Issue, out var list)) _examples[problem.Issue] = list = [];
        if (list.Count < ExamplesPerIssue) list.Add(problem);
    }

    /// <summary>Plain-text summary: one line of totals, then one line per issue with its first examples.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"records read: {RecordsRead}, used: {RecordsUsed}, reported: {RecordsReported}; examples: {ExamplesProduced}, dropped as too long: {ExamplesTooLong}");
        sb.AppendLine($"truncated: prompt {PromptTruncated}, completion {CompletionTruncated}");
        foreach (var (issue, count) in _counts.OrderBy(kv => kv.Key))
        {
            sb.AppendLine($"  {issue.Name()}: {count}");
            foreach (var p in _examples[issue]) sb.AppendLine($"    {p.Where}: {p.Detail}");
        }
        return sb.ToString();
    }

    /// <summary>A serialisable snapshot (for the cache and JSON output).</summary>
    public DataReportSnapshot ToSnapshot() => new(RecordsRead, RecordsUsed, ExamplesProduced, PromptTruncated, CompletionTruncated,
        _counts.ToDictionary(kv => kv.Key.Name(), kv => kv.Value),
        _examples.SelectMany(kv => kv.Value).Select(p => new ProblemSnapshot(p.Where.File, p.Where.Line, p.Where.IsRow, p.Issue, p.Detail)).ToList());

    /// <summary>Rebuilds a report from a snapshot.</summary>
    public static DataReport FromSnapshot(DataReportSnapshot s, int examplesPerIssue = 3)
    {
        var r = new DataReport(examplesPerIssue)
        {
            RecordsRead = s.RecordsRead, RecordsUsed = s.RecordsUsed, ExamplesProduced = s.ExamplesProduced,
            PromptTruncated = s.PromptTruncated, CompletionTruncated = s.CompletionTruncated,
        };
        foreach (var issue in Enum.GetValues<RecordIssue>())
            if (s.Counts.TryGetValue(issue.Name(), out var c)) r._counts[issue] = c;
        foreach (var p in s.Examples)
        {
            if (!r._examples.TryGetValue(p.Issue, out var list)) r._examples[p.Issue] = list = [];
            list.Add(new RecordProblem(new SourceLocation(p.File, p.Line) { IsRow = p.IsRow }, p.Issue, p.Detail));
        }
        return r;
    }
}

/// <summary>Serialisable form of <see cref="DataReport"/>.</summary>
public sealed record DataReportSnapshot(int RecordsRead, int RecordsUsed, int ExamplesProduced, int PromptTruncated, int CompletionTruncated,
    Dictionary<string, int> Counts, List<ProblemSnapshot> Examples);

/// <summary>Serialisable form of <see cref="RecordProblem"/>.</summary>
public sealed record ProblemSnapshot(string File, long Line, bool IsRow, RecordIssue Issue, string Detail);
