using AlignSharp.Tests.Cli;
using AlignSharp.Cli;
using AlignSharp.Data;
using AlignSharp.Data.Inspection;

namespace AlignSharp.Tests.Data;

[CollectionDefinition("Console output", DisableParallelization = true)]
public sealed class ConsoleOutputCollection;

/// <summary>Runs the CLI with the console captured (not in parallel with other tests).</summary>
[Collection("Console output")]
public sealed class InspectCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void Inspect_defaults_to_the_truncation_train_uses()
    {
        var train = new AlignSharp.Config.DataSection();
        string data = Path.Combine(TestSetup.RepoRoot, "examples", "tiny-pairs.jsonl");
        var (code, output, err) = Run("data", "inspect", "--data", data);
        Assert.Equal("", err);
        Assert.Equal(0, code);
        string mode = train.TruncationMode == AlignSharp.Data.TruncationMode.KeepEnd ? "keep_end" : "keep_start";
        Assert.Contains($"max_length {train.MaxLength}, max_prompt_length {train.MaxLength / 2}, {mode}", output);
    }

    [Fact]
    public void Inspect_on_hh_reports_counts_reasons_lengths_truncation_and_padding()
    {
        var (code, output, err) = Run("data", "inspect", "--data", Hh.Path, "--max-length", "512", "--examples", "5");
        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.Contains("format: implicit (detected)", output);
        Assert.Contains($"records: {Hh.Lines} read, {Hh.Lines - 4} used, 4 reported", output); // 4 empty completions
        Assert.Contains("  empty_completion: 4\n", output);
        foreach (var line in new[] { 87, 517, 926, 1104 }) Assert.Contains($"test.jsonl.gz:{line}: chosen completion is empty", output);
        Assert.Contains("max_length 512, max_prompt_length 256, keep_end", output);
        Assert.Matches(@"\n\s+512\s+256\s+\d+\s+\d+\s+\d+\s+0  <- current\n", output);
        Assert.Matches(@"padding at batch size 8 \(seed 0\): length-bucketed \d+\.\d % .*, random \d+\.\d %", output);
        Assert.Contains("\\n\\nAssistant:\"", output); // the examples show prompts ending at the assistant turn
    }

    [Fact]
    public void Inspect_json_output_parses_with_counts_and_padding()
    {
        var (code, output, _) = Run("data", "inspect", "--data", Hh.Path, "--json", "--max-length", "512");
        Assert.Equal(0, code);
        var doc = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        Assert.Equal("implicit", (string)doc["format"]!);
        Assert.Equal(Hh.Lines, (int)doc["report"]!["records_read"]!);
        Assert.Equal(4, (int)doc["report"]!["counts"]!["empty_completion"]!);
        Assert.Equal("empty_completion", (string)doc["report"]!["examples"]![0]!["issue"]!);
        Assert.Equal(512, (int)doc["truncation"]![0]!["max_length"]!);
        Assert.True((double)doc["padding"]!["bucketed"]! < (double)doc["padding"]!["random"]!);
    }

    [Fact]
    public void Inspect_counts_match_the_report_of_a_direct_inspection()
    {
        var x = DataInspection.Run(Hh.Path, new DataOptions(), new AlignSharp.Tokenization.ByteTokenizer(), new TokenizationOptions(512, 256), batchSize: 8, seed: 0);
        var current = x.Truncation[0];
        Assert.Equal(Hh.Lines - 4, current.Untouched + current.TooLong + x.Pairs.Count(p => p.PromptTruncated || p.CompletionTruncated));
        Assert.Equal(x.Report.PromptTruncated, current.PromptCut);
        Assert.Equal(x.Report.CompletionTruncated, current.CompletionCut);
        Assert.True(x.Bucketed!.Waste < x.Random!.Waste);
        Assert.True(x.Prompt.P50 <= x.Prompt.P90 && x.Prompt.P90 <= x.Prompt.P99 && x.Prompt.P99 <= x.Prompt.Max);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("empty")]
    [InlineData("utf8")]
    [InlineData("fail")]
    public void Malformed_inputs_give_one_error_line_and_exit_code_1(string kind)
    {
        string path = kind switch
        {
            "missing" => Path.Combine(_dir.Path, "none.jsonl"),
            "empty" => _dir.File("empty.jsonl", ""),
            "utf8" => _dir.Bytes("bad.jsonl", [(byte)'{', 0xFF, (byte)'}', (byte)'\n']),
            _ => _dir.File("wrong.jsonl", """{"prompt": "p", "chosen": 1, "rejected": "r"}"""),
        };
        var (code, _, err) = Run(["data", "inspect", "--data", path, .. kind == "fail" ? new[] { "--on-bad-record", "fail" } : []]);
        Assert.Equal(1, code);
        var line = Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"error: {path}", line);
        Assert.Contains(kind switch
        {
            "missing" => "data path not found",
            "empty" => "no usable records (empty_file 1)",
            "utf8" => "no usable records (invalid_utf8 1)",
            _ => ":1: wrong_type: field 'chosen' must be a string, got number",
        }, line);
    }

    [Fact]
    public void Bad_option_values_are_one_error_line()
    {
        var path = _dir.File("d.jsonl", """{"prompt": "p", "chosen": "c", "rejected": "r"}""");
        var (code, _, err) = Run("data", "inspect", "--data", path, "--format", "xml");
        Assert.Equal(1, code);
        Assert.StartsWith("error: unknown data format 'xml'", err);
    }
}
