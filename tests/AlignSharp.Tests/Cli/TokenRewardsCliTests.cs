using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Evaluation;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// <c>alignsharp logprobs --token-rewards</c>: the token_rewards output of a policy against a reference, checked the
/// hard way against the sequence log-probs computed by the library's other path (<see cref="CompletionLogProbs"/>):
/// r[t] = beta (lp - lr), the running sum ends at the sequence reward beta (sum lp - sum lr), a model against itself
/// gives exactly 0, and --plot writes a PNG.
/// </summary>
[Collection("Console")]
public sealed class TokenRewardsCliTests(TinyModelFolder folder) : IClassFixture<TinyModelFolder>
{
    private string ReferenceFolder()
    {
        string dir = Path.Combine(Path.GetDirectoryName(folder.Dir)!, "reference");
        if (Directory.Exists(dir)) return dir;
        string tokenizerDir = Path.Combine(TestSetup.Shared, "golden", "tokenizers", "smollm-360m-instruct");
        using var policy = HfCheckpoint.Load(folder.Dir).Model;
        torch.manual_seed(12);
        using var model = ModelFactory.Create(policy.Config);
        HfCheckpoint.Save(model, dir, new HfSaveOptions { SourceDir = tokenizerDir });
        return dir;
    }

    private static List<JsonElement> Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];

    private static double[] Doubles(JsonElement e, string name) =>
        [.. e.GetProperty(name).EnumerateArray().Select(x => x.GetDouble())];

    [Fact]
    public void Token_rewards_are_beta_times_the_log_ratio_and_sum_to_the_sequence_reward()
    {
        string reference = ReferenceFolder();
        string dir = Path.GetDirectoryName(folder.Dir)!;
        string data = Path.Combine(dir, "rewards.jsonl");
        File.WriteAllLines(data, ["{\"prompt\": \"The cat\", \"completion\": \" sat on the mat\"}",
            "{\"prompt\": \"1 2 3\", \"completion\": \" 4 5\"}"]);
        string png = Path.Combine(dir, "token-rewards.png");
        var (code, output, err) = CliConsole.Run(["logprobs", "--model", folder.Dir, "--data", data, "--token-rewards",
            "--reference", reference, "--beta", "0.5", "--plot", png, "--plot-line", "2"]);
        Assert.True(code == 0, err);
        var lines = Lines(output);
        Assert.Equal([1, 2], lines.Select(l => l.GetProperty("line").GetInt32()));

        using var policy = HfCheckpoint.Load(folder.Dir).Model;
        using var refModel = HfCheckpoint.Load(reference).Model;
        var tok = AutoTokenizer.FromFolder(folder.Dir);
        var prompts = new[] { tok.AddSpecialTokensOnce("The cat").ToArray(), tok.AddSpecialTokensOnce("1 2 3").ToArray() };
        var completions = new[] { tok.Encode(" sat on the mat").ToArray(), tok.Encode(" 4 5").ToArray() };
        var pw = CompletionLogProbs.Compute(policy, prompts, completions);
        var rw = CompletionLogProbs.Compute(refModel, prompts, completions);
        for (int i = 0; i < 2; i++)
        {
            var lp = Doubles(lines[i], "policy_logps");
            var lr = Doubles(lines[i], "reference_logps");
            var r = Doubles(lines[i], "token_rewards");
            var cumulative = Doubles(lines[i], "cumulative_rewards");
            double sequence = lines[i].GetProperty("sequence_reward").GetDouble();
            Assert.Equal(completions[i], lines[i].GetProperty("tokens").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(pw[i], lp.Sum(), 4);
            Assert.Equal(rw[i], lr.Sum(), 4);
            for (int t = 0; t < r.Length; t++)
            {
                Assert.Equal(0.5 * (lp[t] - lr[t]), r[t], 9);
                Assert.Equal(r.Take(t + 1).Sum(), cumulative[t], 9);
            }
            Assert.Equal(0.5 * (pw[i] - rw[i]), sequence, 4); // DPO's implicit reward of the whole response
            Assert.Equal(sequence, cumulative[^1], 9);
            Assert.NotEqual(0, sequence);
        }
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
        Assert.Contains("wrote", err);

        var itself = CliConsole.Run(["logprobs", "--model", folder.Dir, "--data", data, "--token-rewards",
            "--reference", folder.Dir]);
        Assert.True(itself.Code == 0, itself.Err);
        Assert.All(Lines(itself.Out), l => Assert.All(Doubles(l, "token_rewards"), v => Assert.Equal(0.0, v)));
    }

    [Fact]
    public void Token_rewards_without_a_reference_is_one_error_line()
    {
        string data = Path.Combine(Path.GetDirectoryName(folder.Dir)!, "one.jsonl");
        File.WriteAllLines(data, ["{\"prompt\": \"a\", \"completion\": \"b\"}"]);
        var (code, output, err) = CliConsole.Run(["logprobs", "--model", folder.Dir, "--data", data, "--token-rewards"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("--token-rewards needs --reference DIR", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
