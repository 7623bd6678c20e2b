using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Sources;
using AlignSharp.Data.Validation;
using Parquet.Serialization;

namespace AlignSharp.Tests.Data;

public sealed class SourceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public sealed class Turn
    {
        public string? role { get; set; }
        public string? content { get; set; }
    }

    public sealed class ConvRow
    {
        public List<Turn>? prompt { get; set; }
        public List<Turn>? chosen { get; set; }
        public List<Turn>? rejected { get; set; }
        public double? score_chosen { get; set; }
    }

    public sealed class TextRow
    {
        public string? prompt { get; set; }
        public string? chosen { get; set; }
        public string? rejected { get; set; }
    }

    private static List<Turn> T(params (string Role, string Content)[] turns) => turns.Select(t => new Turn { role = t.Role, content = t.Content }).ToList();

    [Fact]
    public async Task Parquet_conversational_rows_with_list_of_struct_columns_are_read()
    {
        var path = Path.Combine(_dir.Path, "train-00000-of-00001.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new ConvRow { prompt = T(("user", "Bonjour ? 🙂")), chosen = T(("assistant", "Salut !")), rejected = T(("assistant", "Non.")), score_chosen = 7.5 },
            new ConvRow { prompt = T(("user", "x")), chosen = T(("assistant", "same")), rejected = T(("assistant", "same")) },
        }, path);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal(DataFormat.Conversational, data.Format);
        var p = Assert.Single(data.Pairs);
        Assert.Equal(("<|user|>\nBonjour ? 🙂\n<|assistant|>\n", "Salut !\n", "Non.\n"), (p.Prompt, p.Chosen, p.Rejected));
        Assert.Equal(7.5, p.Extras["chosen_score"]);
        Assert.Equal(new SourceLocation(path, 1) { IsRow = true }, p.Source);
        var bad = Assert.Single(data.Report.Examples[RecordIssue.IdenticalCompletions]);
        Assert.Equal($"{path}:row 2: identical_chosen_rejected: chosen and rejected completions are identical", bad.ToString());
    }

    [Fact]
    public async Task Parquet_null_cells_are_missing_fields()
    {
        var path = Path.Combine(_dir.Path, "text.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new TextRow { prompt = "p", chosen = "c", rejected = "r" },
            new TextRow { prompt = "p", chosen = null, rejected = "r" },
        }, path);
        var data = PreferenceDataLoader.Load(path);
        Assert.Single(data.Pairs);
        Assert.Equal($"{path}:row 2: missing_field: missing field 'chosen'", data.Report.Examples[RecordIssue.MissingField][0].ToString());
    }

    [Fact]
    public void Corrupt_parquet_is_one_clear_error_naming_the_file()
    {
        var path = _dir.File("broken.parquet", "this is not parquet");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path));
        Assert.StartsWith($"{path}: not a readable Parquet file", ex.Message);
    }

    [Fact]
    public void Folder_of_shards_reads_every_supported_file_in_ordinal_order()
    {
        _dir.File("shards/b.jsonl", """{"prompt": "p", "chosen": "b", "rejected": "r"}""");
        _dir.File("shards/a.jsonl.gz", """{"prompt": "p", "chosen": "a", "rejected": "r"}""");
        _dir.File("shards/sub/c.json", """[{"prompt": "p", "chosen": "c", "rejected": "r"}]""");
        _dir.File("shards/README.md", "not data");
        var data = PreferenceDataLoader.Load(Path.Combine(_dir.Path, "shards"));
        Assert.Equal(["a", "b", "c"], data.Pairs.Select(p => p.Chosen));
        Assert.Equal(3, data.Files.Count);
    }

    [Fact]
    public void Glob_matches_files_and_no_match_is_an_error()
    {
        _dir.File("g/train-0.jsonl", """{"prompt": "p", "chosen": "0", "rejected": "r"}""");
        _dir.File("g/train-1.jsonl", """{"prompt": "p", "chosen": "1", "rejected": "r"}""");
        _dir.File("g/test-0.jsonl", """{"prompt": "p", "chosen": "t", "rejected": "r"}""");
        var data = PreferenceDataLoader.Load(Path.Combine(_dir.Path, "g", "train-*.jsonl"));
        Assert.Equal(["0", "1"], data.Pairs.Select(p => p.Chosen));
        Assert.Equal(3, DataFiles.Resolve(Path.Combine(_dir.Path, "**", "*.jsonl")).Count);
        var ex = Assert.Throws<DataException>(() => DataFiles.Resolve(Path.Combine(_dir.Path, "g", "valid-*.jsonl")));
        Assert.EndsWith("glob matches no files", ex.Message);
    }

    [Fact]
    public void Eval_split_is_deterministic_under_the_seed_and_keeps_ranked_pairs_together()
    {
        var pairs = Enumerable.Range(1, 40).SelectMany(i => Enumerable.Range(0, i % 3 + 1)
            .Select(k => new PreferenceExample("p", $"c{k}", "r", new SourceLocation("f", i)))).ToList();
        var (train, eval) = DataSplit.TrainEval(pairs, p => p.Source, 0.25, seed: 3);
        var (train2, eval2) = DataSplit.TrainEval(pairs, p => p.Source, 0.25, seed: 3);
        var (_, eval3) = DataSplit.TrainEval(pairs, p => p.Source, 0.25, seed: 4);
        Assert.Equal(eval, eval2);
        Assert.Equal(train, train2);
        Assert.NotEqual(eval.Select(p => p.Source), eval3.Select(p => p.Source));
        Assert.Equal(10, eval.Select(p => p.Source).Distinct().Count());
        Assert.Equal(pairs.Count, train.Count + eval.Count);
        Assert.Empty(train.Select(p => p.Source).Intersect(eval.Select(p => p.Source)));
    }
}
