using AlignSharp.Tests.Cli;
using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Cli;
using AlignSharp.Tests.Training;

namespace AlignSharp.Tests.Rewards;

/// <summary><c>alignsharp reward train</c> and <c>reward score</c> in process, on a tiny byte-level model.</summary>
[Collection("Console")]
public sealed class RewardCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void Reward_train_saves_a_classifier_folder_and_reward_score_prints_one_json_line_per_record()
    {
        string dir = TinyRun.TempDir();
        string data = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i =>
            $"{{\"prompt\":\"q{i}:\",\"chosen\":\" yes\",\"rejected\":\" no\",\"margin\":0.5}}"));
        string config = Path.Combine(dir, "reward.yaml");
        File.WriteAllText(config, $$"""
            # alignsharp reward train --config reward.yaml
            model: {hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 32}
            tokenizer: byte
            data: {train: {{data}}, max_length: 24}
            training: {batch_size: 8, max_steps: 12, learning_rate: 0.01, schedule: constant}
            output_dir: {{Path.Combine(dir, "rm")}}
            """);
        var (code, _, err) = Run("reward", "train", "--config", config);
        Assert.True(code == 0, err);
        string final = Path.Combine(dir, "rm", "final");
        Assert.True(RewardModelFolder.IsRewardModel(final));

        string texts = Path.Combine(dir, "texts.jsonl");
        File.WriteAllLines(texts, ["{\"prompt\":\"q1:\",\"completion\":\" yes\"}", "",
            "{\"prompt\":\"q2:\",\"chosen\":\" yes\",\"rejected\":\" no\"}"]);
        var (scoreCode, output, scoreErr) = Run("reward", "score", "--model", final, "--data", texts, "--tokenizer", "byte");
        Assert.True(scoreCode == 0, scoreErr);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(1, lines[0]!["line"]!.GetValue<int>());
        Assert.True(double.IsFinite(lines[0]!["score"]!.GetValue<double>()));
        Assert.Equal(3, lines[1]!["line"]!.GetValue<int>());
        Assert.True(lines[1]!["margin"]!.GetValue<double>() > 0, "the trained model prefers the chosen ' yes'");

        File.WriteAllText(texts, "{\"prompt\":\"q\"}\n");
        var (bad, _, badErr) = Run("reward", "score", "--model", final, "--data", texts, "--tokenizer", "byte");
        Assert.Equal(1, bad);
        Assert.Contains($"{texts}:1: needs a 'completion'", badErr);
    }
}
