using AlignSharp.Data.Formats;
using AlignSharp.Data.Sources;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data;

/// <summary>Everything read from a <c>--data</c> value: the files, the format used, the examples, and the report of what was not used.</summary>
public sealed record LoadedData(
    IReadOnlyList<string> Files, DataFormat Format, IReadOnlyList<PreferenceExample> Pairs, IReadOnlyList<UnpairedExample> Unpaired, DataReport Report)
{
    /// <summary>Preference trees (TPO's <see cref="DataFormat.Tree"/> records).</summary>
    public IReadOnlyList<TreeExample> Trees { get; init; } = [];
}

/// <summary>
/// Reads preference data from a file, a folder of shards or a glob (JSON Lines, JSON arrays, Parquet; .gz for the JSON
/// forms), detects or applies the format, and validates every record: each is used or reported in the
/// <see cref="DataReport"/> with its file, line or row and reason. Under <see cref="BadRecordPolicy.Fail"/> the first
/// bad record throws a <see cref="DataException"/> instead.
/// </summary>
public static class PreferenceDataLoader
{
    /// <summary>Loads <paramref name="spec"/>.</summary>
    public static LoadedData Load(string spec, DataOptions? options = null)
    {
        options ??= new DataOptions();
        var files = DataFiles.Resolve(spec);
        var report = new DataReport(options.ExamplesPerIssue);
        var pairs = new List<PreferenceExample>();
        var unpaired = new List<UnpairedExample>();
        var trees = new List<TreeExample>();
        var format = options.Format;
        RecordConverter? converter = format == DataFormat.Auto ? null : new RecordConverter(format, options.ChatFormatter, options.Pairing);
        var waiting = new List<RawRecord>(); // records seen before the format could be detected

        void Problem(RecordProblem p)
        {
            if (options.OnBadRecord == BadRecordPolicy.Fail) throw new DataException(p.Where, $"{p.Issue.Name()}: {p.Detail}");
            report.Add(p);
        }

        void Use(RawRecord r)
        {
            if (r.Problem is { } bad) { Problem(bad); return; }
            var c = converter!.Convert(r.Fields!, r.Where);
            if (c.Problem is { } p) { Problem(p); return; }
            if (c.Trees.Count > 0 && trees.Count > 0 && c.Trees[0].Count != trees[0].Count)
            {
                Problem(new RecordProblem(r.Where, RecordIssue.InvalidAnnotation,
                    $"{c.Trees[0].Count} responses, but the first tree of this data ({trees[0].Source}) has "
                    + $"{trees[0].Count}: TPO batches N rows per prompt, so every tree needs the same N"));
                return;
            }
            report.RecordsUsed++;
            report.ExamplesProduced += c.Pairs.Count + c.Unpaired.Count + c.Trees.Count;
            pairs.AddRange(c.Pairs);
            trees.AddRange(c.Trees);
            unpaired.AddRange(c.Unpaired);
        }

        foreach (var file in files)
        {
            int before = report.RecordsRead;
            foreach (var r in Read(file))
            {
                report.RecordsRead++;
                if (converter is null)
                {
                    waiting.Add(r);
                    if (r.Fields is null || DataFormats.Detect(r.Fields) is not { } detected) continue;
                    format = detected;
                    converter = new RecordConverter(format, options.ChatFormatter, options.Pairing);
                    foreach (var w in waiting) Use(w);
                    waiting.Clear();
                }
                else Use(r);
            }
            if (report.RecordsRead == before) Problem(new RecordProblem(SourceLocation.WholeFile(file), RecordIssue.EmptyFile, "file holds no records"));
        }

        if (converter is null)
        {
            var fields = waiting.FirstOrDefault(w => w.Fields is not null)?.Fields;
            if (fields is not null)
                throw new DataException(waiting.First(w => w.Fields is not null).Where,
                    $"cannot detect the data format from fields [{string.Join(", ", fields.Select(f => f.Key))}]; expected prompt/chosen/rejected, chosen/rejected, prompt/completion/label, prompt/responses/scores, prompt/prefix_steps, task/chosen, history/segment, prompt/samples, prompt/refinement_prompt or prompt/steps/reward (or pass the format)");
            foreach (var w in waiting) Use(w); // only unreadable records: report them
        }

        if (pairs.Count == 0 && unpaired.Count == 0 && trees.Count == 0)
        {
            var where = files.Count == 1 ? SourceLocation.WholeFile(files[0]) : SourceLocation.WholeFile(spec);
            var why = report.Counts.Count == 0 ? "no records" : string.Join(", ", report.Counts.Select(kv => $"{kv.Key.Name()} {kv.Value}"));
            var first = report.Examples.Values.SelectMany(v => v).FirstOrDefault();
            throw new DataException(where, $"no usable records ({why}){(first is null || first.Issue == RecordIssue.EmptyFile ? "" : $"; first: {first}")}");
        }
        return new LoadedData(files, format, pairs, unpaired, report) { Trees = trees };
    }

    /// <summary>Raw records of one file, by container format.</summary>
    public static IEnumerable<RawRecord> Read(string file) => DataFiles.KindOf(file) switch
    {
        DataFileKind.Parquet => ParquetRecordReader.Read(file),
        DataFileKind.JsonArray => JsonArrayRecordReader.Read(file),
        _ => JsonLinesRecordReader.Read(file),
    };
}
