using System.CommandLine;
using System.Text.Json.Nodes;
using AlignSharp.Cli.Commands;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>`alignsharp objectives eval` on the token-level golden file, and `list` showing the token-level
/// table.</summary>
public sealed class TokenLevelEvalCommandTests
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
    public void Eval_reproduces_every_token_level_case_in_the_sequence_level_output_shape()
    {
        var (code, text, err) = Run("eval", "--input", TokenLevelGoldenTests.VectorsPath);
        Assert.True(code == 0, err);
        var cases = JsonNode.Parse(text)!["cases"]!.AsArray();
        var golden = JsonNode.Parse(File.ReadAllText(TokenLevelGoldenTests.VectorsPath))!["cases"]!.AsArray();
        Assert.Equal(golden.Count, cases.Count);
        for (int i = 0; i < golden.Count; i++)
        {
            Assert.Equal(golden[i]!["objective"]!.GetValue<string>(), cases[i]!["objective"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(golden[i]!["params"], cases[i]!["params"]), $"case {i} params");
            var expected = golden[i]!["batches"]![0]!["expected"]!.AsObject();
            var actual = cases[i]!["batches"]![0]!.AsObject();
            Assert.Equal(expected.Select(p => p.Key).Order(), actual.Select(p => p.Key).Order());
            foreach (var (key, value) in expected)
                TokenLevelGoldenTests.AssertClose(TokenLevelGoldenTests.Flat(value), TokenLevelGoldenTests.Flat(actual[key]),
                    $"case {i} {key}");
        }
    }

    [Fact]
    public void Eval_names_the_case_and_key_of_a_bad_token_level_input()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tl-bad-{Guid.NewGuid():N}.json");
        var root = JsonNode.Parse(File.ReadAllText(TokenLevelGoldenTests.VectorsPath))!;
        var first = root["cases"]![0]!;
        first["batches"]![0]!["inputs"]!["chosen_mask"]![0]![0] = 2;
        File.WriteAllText(path, new JsonObject { ["schema"] = root["schema"]!.DeepClone(), ["cases"] = new JsonArray(first.DeepClone()) }.ToJsonString());
        try
        {
            var (code, _, err) = Run("eval", "--input", path);
            Assert.Equal(1, code);
            Assert.Contains("case 0 ('step_dpo'), batch 0: objective 'step_dpo': input 'chosen_mask' must hold only 0 "
                + "and 1", err);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void List_shows_the_token_level_objectives_and_the_token_rewards_output()
    {
        var (code, text, _) = Run("list");
        Assert.Equal(0, code);
        Assert.Contains("step_dpo  (reference: yes, reduction: sum)", text);
        Assert.Contains("alpha=required", text);
        Assert.Contains("token_rewards  (output, not a loss)", text);
        var json = JsonNode.Parse(Run("list", "--json").Out)!;
        Assert.Contains(json["token_level"]!.AsArray(), o => (string)o!["id"]! == "oreo");
        Assert.Equal("token_rewards", (string)json["outputs"]![0]!["id"]!);
    }
}
