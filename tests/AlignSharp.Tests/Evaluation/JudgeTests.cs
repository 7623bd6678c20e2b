using AlignSharp.Evaluation;
using AlignSharp.Tasks;
using Microsoft.Extensions.AI;

namespace AlignSharp.Tests.Evaluation;

public sealed class JudgeTests
{
    /// <summary>An IChatClient that records requests and replies from a script (no network).</summary>
    private sealed class FakeChatClient(Func<string, string> reply) : IChatClient
    {
        public List<(List<ChatMessage> Messages, ChatOptions? Options)> Requests { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = messages.ToList();
            Requests.Add((list, options));
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply(list[^1].Text))));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() { }
    }

    [Theory]
    [InlineData("A", PairVerdict.First)]
    [InlineData("B", PairVerdict.Second)]
    [InlineData(" B.", PairVerdict.Second)]
    [InlineData("**A**", PairVerdict.First)]
    [InlineData("(B)", PairVerdict.Second)]
    [InlineData("Response A", PairVerdict.First)]
    [InlineData("Answer: B", PairVerdict.Second)]
    [InlineData("I think Response B is better.", PairVerdict.Second)]
    [InlineData("TIE", PairVerdict.Tie)]
    [InlineData("tie - both fine", PairVerdict.Tie)]
    [InlineData("Both Response A and Response B are fine", PairVerdict.Invalid)]
    [InlineData("I cannot decide", PairVerdict.Invalid)]
    [InlineData("", PairVerdict.Invalid)]
    [InlineData(null, PairVerdict.Invalid)]
    public void Verdicts_are_parsed_from_replies(string? reply, PairVerdict expected) =>
        Assert.Equal(expected, ChatEndpointJudge.ParseVerdict(reply));

    [Fact]
    public async Task The_endpoint_judge_sends_the_prompt_both_responses_and_its_limits()
    {
        var client = new FakeChatClient(_ => "B");
        var judge = new ChatEndpointJudge(client, new ChatEndpointJudgeOptions { ModelId = "judge-model", MaxOutputTokens = 4, Criterion = "Which review is more positive?" });
        var verdict = await judge.JudgeAsync("review: the film", " was good .", " was great .");

        Assert.Equal(PairVerdict.Second, verdict);
        var (messages, options) = Assert.Single(client.Requests);
        Assert.Equal(ChatRole.System, messages[0].Role);
        Assert.Equal(ChatEndpointJudge.SystemPrompt, messages[0].Text);
        Assert.Equal(ChatRole.User, messages[1].Role);
        Assert.Equal("[Prompt]\nreview: the film\n\n[Response A]\n was good .\n\n[Response B]\n was great .\n\nWhich review is more positive?\nAnswer with A or B.", messages[1].Text);
        Assert.Equal("judge-model", options!.ModelId);
        Assert.Equal(4, options.MaxOutputTokens);
        Assert.Equal(0f, options.Temperature);
    }

    [Fact]
    public void An_openai_compatible_client_points_at_the_given_base_url_and_model()
    {
        using var client = ChatEndpointJudge.CreateClient(new Uri("http://localhost:8000/v1"), "qwen2.5-0.5b");
        var meta = client.GetService<ChatClientMetadata>();
        Assert.NotNull(meta);
        Assert.Equal("qwen2.5-0.5b", meta.DefaultModelId);
        Assert.Equal(new Uri("http://localhost:8000/v1"), meta.ProviderUri);
    }

    [Fact]
    public async Task Win_rate_maps_verdicts_back_through_the_random_order()
    {
        var prompts = Enumerable.Repeat("review: the film", 400).ToList();
        var better = Enumerable.Repeat(" was great .", 400).ToList();
        var worse = Enumerable.Repeat(" was dull .", 400).ToList();
        var judge = new RewardJudge(ReviewReward.Default);

        var win = await WinRate.ComputeAsync(judge, prompts, better, worse, seed: 1);
        Assert.Equal((400, 0, 0, 0), (win.Wins, win.Ties, win.Losses, win.Invalid));
        Assert.Equal(1.0, win.Rate.Mean);
        var tie = await WinRate.ComputeAsync(judge, prompts, better, better, seed: 1);
        Assert.Equal(0.5, tie.Rate.Mean);

        // A judge that always picks the first position: the random order cancels its bias.
        var biased = new ChatEndpointJudge(new FakeChatClient(_ => "A"));
        var r = await WinRate.ComputeAsync(biased, prompts, worse, better, seed: 2);
        Assert.Equal(400, r.Wins + r.Losses);
        Assert.InRange(r.Rate.Mean, 0.5 - 4 * r.Rate.StandardError, 0.5 + 4 * r.Rate.StandardError);

        // Unusable replies are counted and left out of the rate.
        var mute = await WinRate.ComputeAsync(new ChatEndpointJudge(new FakeChatClient(_ => "no idea"),
            new ChatEndpointJudgeOptions { RetryDelay = TimeSpan.Zero }), prompts[..3], worse[..3], better[..3], seed: 0);
        Assert.Equal(3, mute.Invalid);
        Assert.Equal(0, mute.Rate.Count);
    }

    [Fact]
    public async Task Win_rate_needs_matching_lists()
    {
        var e = await Assert.ThrowsAsync<EvaluationException>(() => WinRate.ComputeAsync(new RewardJudge(ReviewReward.Default), ["x"], [], ["y"], 0));
        Assert.Contains("one policy and one reference completion per prompt", e.Message);
    }
}
