using System.CommandLine;
using System.Text.Json.Nodes;
using AlignSharp.Cli.Commands;
using AlignSharp.Objectives;

namespace AlignSharp.Tests.Objectives;

/// <summary>`alignsharp objectives list|eval|docs`, run through the command with captured output.</summary>
public sealed class ObjectivesCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var root = new RootCommand();
        root.Subcommands.Add(new ObjectivesCommand(output, errors).Build());
        int code = root.Parse(["objectives", .. args]).Invoke();
        return (code, output.ToString(), errors.ToString());
    }

    [Fact]
    public void List_prints_every_id_with_parameters_defaults_reference_and_reduction()
    {
        var (code, text, _) = Run("list");
        Assert.Equal(0, code);
        foreach (var e in ObjectiveCatalog.All)
        {
            Assert.Contains($"{e.Id}  (reference: {(e.NeedsReference ? "yes" : "no")}, reduction: {ObjectiveDocs.Reduction(e)}", text);
            foreach (var p in e.Parameters) Assert.Contains($"{p.Name}={p.DefaultText}", text);
        }
        var json = JsonNode.Parse(Run("list", "--json").Out)!["objectives"]!.AsArray();
        Assert.Equal(ObjectiveCatalog.All.Count, json.Count);
        Assert.Equal("2.0", json.Single(o => (string)o!["id"]! == "simpo")!["params"]![0]!["default"]!.GetValue<string>());
    }

    [Fact]
    public void Eval_reproduces_the_golden_vectors_in_file_order()
    {
        var (code, text, err) = Run("eval", "--input", GoldenVectorTests.VectorsPath);
        Assert.True(code == 0, err);
        var cases = JsonNode.Parse(text)!["cases"]!.AsArray();
        var golden = JsonNode.Parse(File.ReadAllText(GoldenVectorTests.VectorsPath))!["cases"]!.AsArray();
        Assert.Equal(golden.Count, cases.Count);
        for (int i = 0; i < golden.Count; i++)
        {
            Assert.Equal(golden[i]!["objective"]!.GetValue<string>(), cases[i]!["objective"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(golden[i]!["params"], cases[i]!["params"]), $"case {i} params");
            var gb = golden[i]!["batches"]!.AsArray();
            var cb = cases[i]!["batches"]!.AsArray();
            Assert.Equal(gb.Count, cb.Count);
            for (int b = 0; b < gb.Count; b++)
            {
                var expected = gb[b]!["expected"]!["losses"]!.AsArray().Select(x => x!.GetValue<double>()).Append(gb[b]!["expected"]!["loss"]!.GetValue<double>());
                var actual = cb[b]!["losses"]!.AsArray().Select(x => x!.GetValue<double>()).Append(cb[b]!["loss"]!.GetValue<double>());
                foreach (var (e, a) in expected.Zip(actual))
                    Assert.True(GoldenVectorTests.Close(a, e), $"case {i} batch {b}: {a:R} vs {e:R}");
            }
        }
    }

    [Fact]
    public void Eval_errors_are_one_line_on_stderr_with_exit_code_one()
    {
        string dir = TestTemp.Dir("objectives");
        string bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, """
            {"schema": "preference-objective-vectors/1", "cases": [{"objective": "odpo", "params": {"beta": 0.1},
             "batches": [{"inputs": {"policy_chosen_logps": [-1, -2], "policy_rejected_logps": [-3, -4],
               "reference_chosen_logps": [-1, -2], "reference_rejected_logps": [-3, -4], "chosen_lengths": [2, 2],
               "rejected_lengths": [2, 2], "chosen_scores": [1, 1], "rejected_scores": [0, 2]}}]}]}
            """);
        var (code, text, err) = Run("eval", "--input", bad);
        Assert.Equal(1, code);
        Assert.Equal("", text);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("case 0 ('odpo'), batch 0", err);
        Assert.Contains("pair 1", err);
        var (missing, _, err2) = Run("eval", "--input", Path.Combine(dir, "none.json"));
        Assert.Equal(1, missing);
        Assert.Contains("not found", err2);
    }

    [Fact]
    public void Docs_writes_the_generated_table_atomically()
    {
        string path = Path.Combine(TestTemp.Dir("objectives"), "docs", "objectives.md");
        var (code, _, _) = Run("docs", "--output", path);
        Assert.Equal(0, code);
        Assert.Equal(ObjectiveDocs.Markdown(), File.ReadAllText(path));
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary left beside it
    }
}
