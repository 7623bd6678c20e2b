using System.IO.Compression;
using System.Text;
using AlignSharp.Data;
using AlignSharp.Data.Validation;

namespace AlignSharp.Tests.Data;

public sealed class ValidationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Good = """{"prompt": "p", "chosen": "c", "rejected": "r"}""";

    [Fact]
    public void Every_malformed_line_is_reported_once_with_its_line_and_reason()
    {
        var lines = new[]
        {
            Good,                                                         // 1 used
            """{"prompt": "p", "chosen": "c", "rejec""",                  // 2 truncated line
            """{"prompt": 5, "chosen": "c", "rejected": "r"}""",          // 3 wrong type
            """{"prompt": "p", "chosen": "c"}""",                         // 4 missing field
            """{"prompt": "p", "chosen": "   ", "rejected": "r"}""",      // 5 empty completion
            """{"prompt": "p", "chosen": "same", "rejected": "same"}""",  // 6 identical
            """[1, 2]""",                                                 // 7 not an object
            "",                                                           // 8 blank: not a record
            """{"prompt": null, "chosen": "c", "rejected": "r"}""",       // 9 null = missing
        };
        var bytes = Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n").Concat(
            new byte[] { (byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}', (byte)'\n' }).ToArray(); // 10 invalid UTF-8
        var path = _dir.Bytes("bad.jsonl", bytes);
        var data = PreferenceDataLoader.Load(path);
        var report = data.Report;
        Assert.Single(data.Pairs);
        Assert.Equal(9, report.RecordsRead);
        Assert.Equal(1, report.RecordsUsed);
        Assert.Equal(8, report.RecordsReported);
        var all = string.Join("\n", report.Examples.Values.SelectMany(v => v).OrderBy(p => p.Where.Line));
        Assert.Equal(string.Join("\n",
        [
            $"{path}:2: invalid_json: invalid JSON (Expected end of string, but instead reached end of data)",
            $"{path}:3: wrong_type: field 'prompt' must be a string, got number",
            $"{path}:4: missing_field: missing field 'rejected'",
            $"{path}:5: empty_completion: chosen completion is empty",
            $"{path}:6: identical_chosen_rejected: chosen and rejected completions are identical",
            $"{path}:7: not_an_object: record is a JSON array, not an object",
            $"{path}:9: missing_field: missing field 'prompt'",
            $"{path}:10: invalid_utf8: invalid UTF-8 byte sequence at byte 2",
        ]), all);
    }

    [Fact]
    public void Fail_policy_stops_at_the_first_bad_record_naming_file_and_line()
    {
        var path = _dir.File("bad.jsonl", Good + "\n" + """{"prompt": "p", "chosen": ["c"], "rejected": "r", "x": 1}""" + "\n" + "{oops\n");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path, new DataOptions { Format = AlignSharp.Data.Formats.DataFormat.Explicit, OnBadRecord = BadRecordPolicy.Fail }));
        Assert.Equal($"{path}:2: wrong_type: field 'chosen' must be a string, got array", ex.Message);
        Assert.Equal(2, ex.Where.Line);
    }

    [Fact]
    public void Empty_file_is_one_clear_error()
    {
        var path = _dir.File("empty.jsonl", "");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path));
        Assert.Equal($"{path}: no usable records (empty_file 1)", ex.Message);
        var blank = _dir.File("blank.jsonl", "\n  \n\n");
        Assert.StartsWith($"{blank}: no usable records (empty_file 1)", Assert.Throws<DataException>(() => PreferenceDataLoader.Load(blank)).Message);
    }

    [Fact]
    public void Empty_shard_among_good_ones_is_reported_not_fatal()
    {
        _dir.File("s/a.jsonl", Good);
        var empty = _dir.File("s/b.jsonl", "");
        var data = PreferenceDataLoader.Load(Path.Combine(_dir.Path, "s"));
        Assert.Single(data.Pairs);
        Assert.Equal($"{empty}: empty_file: file holds no records", Assert.Single(data.Report.Examples[RecordIssue.EmptyFile]).ToString());
    }

    [Fact]
    public void Missing_file_is_one_clear_error()
    {
        var path = Path.Combine(_dir.Path, "nope.jsonl");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path));
        Assert.Equal($"{path}: data path not found (neither a file, a folder nor a glob)", ex.Message);
    }

    [Fact]
    public void Truncated_gzip_is_one_clear_error_naming_the_file()
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
            gz.Write(Encoding.UTF8.GetBytes(string.Join("\n", Enumerable.Repeat(Good, 2000))));
        var bytes = ms.ToArray();
        var path = _dir.Bytes("cut.jsonl.gz", bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path));
        Assert.StartsWith(path + ":", ex.Message);
        Assert.Contains("gzip", ex.Message);
    }

    [Fact]
    public void Undetectable_format_names_the_fields_found()
    {
        var path = _dir.File("odd.jsonl", """{"question": "q", "answer": "a"}""");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path));
        Assert.StartsWith($"{path}:1: cannot detect the data format from fields [question, answer]", ex.Message);
    }

    [Fact]
    public void Invalid_json_array_file_is_one_error_with_the_line()
    {
        var path = _dir.File("broken.json", "[\n  {\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"},\n  {\"prompt\": \n");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path));
        Assert.StartsWith($"{path}:4: invalid JSON array (", ex.Message); // parsing stops at the end of the file, line 4
    }
}
