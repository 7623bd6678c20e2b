using System.Text.Json;
using System.Text.RegularExpressions;
using AlignSharp.Online;
using AlignSharp.Tasks;
using AlignSharp.Tests.Evaluation;

namespace AlignSharp.Tests.Online;

/// <summary>The loop scored by an endpoint judge on a real HTTP server that answers, misanswers and fails.</summary>
[Collection("TorchGlobalSeed")]
public sealed partial class OnlineJudgeTests
{
    private static readonly string[] Malformed = ["review: the film", "review: the book"];
    private static readonly string[] Failing = ["review: the food", "review: the hotel"];

    [GeneratedRegex(@"^\[Prompt\]\n(?<p>.*)\n\n\[Response A\]\n(?<a>.*)\n\n\[Response B\]\n(?<b>.*)\n\n",
        RegexOptions.Singleline)]
    private static partial Regex Shown();

    /// <summary>
    /// Honest by the ground-truth reward, except: malformed replies for some subjects, HTTP 500 for others.
    /// </summary>
    private static ServerReply Script(string user)
    {
        var m = Shown().Match(user);
        Assert.True(m.Success, user);
        string prompt = m.Groups["p"].Value;
        if (Malformed.Contains(prompt)) return new ServerReply.Answer("Both have their merits.");
        if (Failing.Contains(prompt)) return new ServerReply.Status(500);
        double a = ReviewReward.Default.Score(prompt, m.Groups["a"].Value);
        double b = ReviewReward.Default.Score(prompt, m.Groups["b"].Value);
        return new ServerReply.Answer(a > b ? "A" : a < b ? "B" : "TIE");
    }

    [Fact]
    public async Task Groups_without_a_verdict_are_reported_with_raw_replies_and_never_become_pairs()
    {
        await using var server = await FakeChatServer.StartAsync((_, user) => Script(user));
        string root = OnlineFixtures.TempDir();
        try
        {
            string judge = "score: {kind: judge, judge: {kind: endpoint, " +
                $"url: '{server.BaseUrl}', model: judge-model, " +
                "max_attempts: 2, timeout_seconds: 20}}";
            var config = OnlineFixtures.Parse(OnlineFixtures.TinyYaml(root, judge, iterations: 2));
            var reports = await new OnlineLoop(config, new OnlineFixtures.Silent()).RunAsync();

            var invalid = reports.SelectMany(r => r.Invalid).ToList();
            Assert.NotEmpty(invalid);
            Assert.All(invalid, g => Assert.Contains(g.Prompt, Malformed.Concat(Failing)));
            Assert.Contains(invalid, g => g.Replies.Contains("Both have their merits."));
            Assert.Contains(invalid, g => g.Problem.Contains("HTTP 500"));
            Assert.Equal(reports.Sum(r => r.InvalidGroups), invalid.Count);
            // The report on disk carries the same raw replies.
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "iteration-0001", "report.json")));
            Assert.Equal(reports[0].InvalidGroups, doc.RootElement.GetProperty("invalid").GetArrayLength());

            var pairs = Directory.GetDirectories(root, "iteration-*")
                .SelectMany(d => PairRecordsFile.Read(Path.Combine(d, "pairs.jsonl"))).ToList();
            Assert.NotEmpty(pairs);
            foreach (var p in pairs)
            {
                Assert.DoesNotContain(p.Prompt, Malformed.Concat(Failing));
                Assert.Equal(2, p.JudgeReplies.Count); // both orders, each answered at the first attempt
                Assert.InRange(p.ChosenWinProb, 0, 1);
                Assert.True(p.ChosenWinProb > p.RejectedWinProb);
                // The honest judge prefers the higher ground-truth reward.
                var reward = ReviewReward.Default;
                Assert.True(reward.Score(p.Prompt, p.Chosen) > reward.Score(p.Prompt, p.Rejected));
            }
            Assert.All(server.Requests, r => Assert.Equal("judge-model", r.Model));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
