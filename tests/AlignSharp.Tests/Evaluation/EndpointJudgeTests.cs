using System.Text.RegularExpressions;
using AlignSharp.Evaluation;

namespace AlignSharp.Tests.Evaluation;

/// <summary>
/// The endpoint judge against a real OpenAI-compatible server on 127.0.0.1 (<see cref="FakeChatServer"/>): it
/// answers, answers in the wrong format, times out, and fails with HTTP 500. The judge asks both orders, retries,
/// reports every raw reply, and never turns a failure into a verdict.
/// </summary>
public sealed partial class EndpointJudgeTests
{
    private const string Prompt = "review: the film";
    private const string Good = " was great .";
    private const string Bad = " was dull .";

    private static ChatEndpointJudge Judge(FakeChatServer server, int attempts = 3, double timeoutSeconds = 30) =>
        new(ChatEndpointJudge.CreateClient(server.BaseUrl, "judge-model"), new ChatEndpointJudgeOptions
        {
            MaxAttempts = attempts,
            RequestTimeout = TimeSpan.FromSeconds(timeoutSeconds),
            RetryDelay = TimeSpan.Zero,
        });

    /// <summary>A correct judge: the letter of the response that says "great".</summary>
    private static ServerReply Honest(string user)
    {
        var m = Shown().Match(user);
        Assert.True(m.Success, user);
        return new ServerReply.Answer(m.Groups["a"].Value.Contains("great") ? "A" : "B");
    }

    [GeneratedRegex(@"\[Response A\]\n(?<a>.*)\n\n\[Response B\]\n(?<b>.*)\n\n")]
    private static partial Regex Shown();

    [Fact]
    public async Task A_correct_server_is_asked_in_both_orders_and_its_verdicts_agree()
    {
        await using var server = await FakeChatServer.StartAsync((_, user) => Honest(user));
        var judge = Judge(server);

        var c = await PairComparison.CompareAsync(judge, Prompt, Good, Bad);
        Assert.Equal(PairVerdict.First, c.Verdict);
        Assert.Equal(1.0, c.WinProbability);
        var requests = server.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.All(requests, r => Assert.Equal("judge-model", r.Model));
        Assert.Contains($"[Response A]\n{Good}\n\n[Response B]\n{Bad}", requests[0].UserMessage);
        Assert.Contains($"[Response A]\n{Bad}\n\n[Response B]\n{Good}", requests[1].UserMessage);
        Assert.Equal(["A", "B"], c.RawReplies);

        var reversed = await PairComparison.CompareAsync(judge, Prompt, Bad, Good);
        Assert.Equal(PairVerdict.Second, reversed.Verdict);
        Assert.Equal(0.0, reversed.WinProbability);
    }

    [Fact]
    public async Task A_server_that_always_picks_the_first_position_gives_a_tie_not_a_winner()
    {
        await using var server = await FakeChatServer.StartAsync((_, _) => new ServerReply.Answer("A"));
        var c = await PairComparison.CompareAsync(Judge(server), Prompt, Bad, Good);
        Assert.Equal(PairVerdict.Tie, c.Verdict);
        Assert.Equal(0.5, c.WinProbability);
        Assert.True(c.IsValid);
    }

    [Fact]
    public async Task A_malformed_reply_is_retried_and_the_raw_replies_are_kept()
    {
        // Request 0 is malformed; every later request is answered correctly.
        await using var server = await FakeChatServer.StartAsync((i, user) =>
            i == 0 ? new ServerReply.Answer("Both responses have merit.") : Honest(user));
        var c = await PairComparison.CompareAsync(Judge(server), Prompt, Good, Bad);

        Assert.Equal(PairVerdict.First, c.Verdict);
        Assert.Equal(3, server.Requests.Count);
        Assert.Equal(["Both responses have merit.", "A", "B"], c.RawReplies);
        Assert.Equal("malformed reply", c.Forward.Attempts[0].Error);
        Assert.Null(c.Forward.Attempts[1].Error);
    }

    [Fact]
    public async Task A_server_that_never_answers_in_format_is_reported_invalid_after_every_attempt()
    {
        await using var server = await FakeChatServer.StartAsync((_, _) => new ServerReply.Answer("I cannot decide"));
        var c = await PairComparison.CompareAsync(Judge(server, attempts: 3), Prompt, Good, Bad);

        Assert.Equal(PairVerdict.Invalid, c.Verdict);
        Assert.False(c.IsValid);
        Assert.True(double.IsNaN(c.WinProbability));
        Assert.Equal(3, server.Requests.Count); // the second order is not asked once the first is lost
        Assert.Equal(3, c.Forward.Attempts.Count);
        Assert.All(c.Forward.Attempts, a => Assert.Equal(("I cannot decide", "malformed reply"), (a.Reply, a.Error)));
        Assert.Empty(c.Backward.Attempts);
    }

    [Fact]
    public async Task A_request_that_times_out_is_abandoned_and_retried()
    {
        await using var server = await FakeChatServer.StartAsync((i, user) =>
            i == 0 ? new ServerReply.Hang() : Honest(user));
        var c = await PairComparison.CompareAsync(Judge(server, timeoutSeconds: 0.5), Prompt, Good, Bad);

        Assert.Equal(PairVerdict.First, c.Verdict);
        Assert.Null(c.Forward.Attempts[0].Reply);
        Assert.StartsWith("no reply within 0.5 s", c.Forward.Attempts[0].Error);
        Assert.Equal(2, c.Forward.Attempts.Count);
    }

    [Fact]
    public async Task A_server_that_always_times_out_gives_no_verdict()
    {
        await using var server = await FakeChatServer.StartAsync((_, _) => new ServerReply.Hang());
        var c = await PairComparison.CompareAsync(Judge(server, attempts: 2, timeoutSeconds: 0.3), Prompt, Good, Bad);
        Assert.Equal(PairVerdict.Invalid, c.Verdict);
        Assert.Equal(2, c.Forward.Attempts.Count);
        Assert.All(c.Forward.Attempts, a => Assert.StartsWith("no reply within", a.Error));
    }

    [Fact]
    public async Task An_http_500_is_retried_by_the_judge_alone_and_reported_when_it_persists()
    {
        await using (var flaky = await FakeChatServer.StartAsync((i, user) =>
            i == 0 ? new ServerReply.Status(500) : Honest(user)))
        {
            var c = await PairComparison.CompareAsync(Judge(flaky), Prompt, Good, Bad);
            Assert.Equal(PairVerdict.First, c.Verdict);
            Assert.StartsWith("HTTP 500", c.Forward.Attempts[0].Error);
            Assert.Equal(3, flaky.Requests.Count);
        }

        await using var broken = await FakeChatServer.StartAsync((_, _) => new ServerReply.Status(500));
        var lost = await PairComparison.CompareAsync(Judge(broken, attempts: 2), Prompt, Good, Bad);
        Assert.Equal(PairVerdict.Invalid, lost.Verdict);
        // Exactly the judge's attempts reached the server: the OpenAI client's own retries are off.
        Assert.Equal(2, broken.Requests.Count);
        Assert.All(lost.Forward.Attempts, a => Assert.StartsWith("HTTP 500", a.Error));
        Assert.All(lost.RawReplies, r => Assert.StartsWith("(none: HTTP 500", r));
    }
}
