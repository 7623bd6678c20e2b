using AlignSharp.Tests.Cli;
using AlignSharp.Data;
using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Cli;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Tasks;
using TorchSharp;

namespace AlignSharp.Tests.Experiments;

[Collection("Console")]
public sealed class EvalCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void A_policy_evaluated_against_itself_has_zero_kl_and_zero_implicit_accuracy()
    {
        var dir = Directory.CreateTempSubdirectory("alignsharp-eval-").FullName;
        try
        {
            torch.manual_seed(3);
            using var model = new Gpt2Model(ModelConfig.TinyGpt2(259, hidden: 16, layers: 1, heads: 2, maxPositions: 64));
            HfCheckpoint.Save(model, Path.Combine(dir, "policy"));
            HfCheckpoint.Save(model, Path.Combine(dir, "reference"));
            var prompts = ReviewGenerator.Default.Prompts(6, 1);
            var pairs = new BradleyTerryLabeler(ReviewReward.Default).Label(prompts, prompts.Select(_ => " was great .").ToList(), prompts.Select(_ => " was dull .").ToList(), 0);
            PreferenceJsonlWriter.Write(Path.Combine(dir, "pairs.jsonl"), pairs);

            var (code, output, err) = Run("eval", "--policy", Path.Combine(dir, "policy"), "--reference", Path.Combine(dir, "reference"), "--byte-tokenizer",
                "--pairs", Path.Combine(dir, "pairs.jsonl"), "--task", "review", "--num-prompts", "3", "--samples", "2", "--max-new-tokens", "6", "--judge", "reward", "--json");
            Assert.True(code == 0, err);
            var json = JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!.AsObject();
            Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 1, output);
            Assert.Equal(6, (int)json["implicit_reward"]!["pairs"]!);
            Assert.Equal(0.0, (double)json["implicit_reward"]!["accuracy"]!);
            Assert.Equal(6, (int)json["samples"]!);
            Assert.Equal(0.0, (double)json["kl"]!["mean"]!);
            Assert.InRange((double)json["ground_truth_reward"]!["mean"]!, -1.0, 1.0);
            var win = json["win_rate"]!.AsObject();
            Assert.Equal(6, (int)win["wins"]! + (int)win["ties"]! + (int)win["losses"]!);
            Assert.InRange((double)win["rate"]!, 0.0, 1.0);

            var text = Run("eval", "--policy", Path.Combine(dir, "policy"), "--reference", Path.Combine(dir, "reference"), "--byte-tokenizer",
                "--pairs", Path.Combine(dir, "pairs.jsonl"));
            Assert.Equal(0, text.Code);
            Assert.Equal("implicit-reward accuracy: 0.0000 on 6 pairs (β 0.1, mean margin 0.0000)", text.Out.Trim());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("--judge", "reward", "error: --judge reward needs --task review (the only ground-truth reward)")]
    [InlineData("--judge", "endpoint", "error: --judge endpoint needs --judge-url and --judge-model")]
    [InlineData("--task", "chess", "error: --task: unknown task 'chess' (known: review)")]
    public void Bad_options_are_one_line_errors(string option, string value, string expected)
    {
        var (code, _, err) = Run("eval", "--policy", "p", "--reference", "r", option, value);
        Assert.Equal(1, code);
        Assert.Equal(expected, err.Trim());
    }
}
