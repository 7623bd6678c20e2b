using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AlignSharp.Tests.Evaluation;

/// <summary>What the fake server does with one request.</summary>
internal abstract record ServerReply
{
    /// <summary>A well-formed chat completion whose message is <paramref name="Content"/>.</summary>
    internal sealed record Answer(string Content) : ServerReply;
    /// <summary>An HTTP error status with an OpenAI-style error body.</summary>
    internal sealed record Status(int Code) : ServerReply;
    /// <summary>No reply until the client gives up (the request is held open).</summary>
    internal sealed record Hang : ServerReply;
}

/// <summary>One request the server saw: the model id and the last user message.</summary>
internal sealed record ServerRequest(string? Model, string UserMessage);

/// <summary>
/// A small OpenAI-compatible chat server (POST /v1/chat/completions) on 127.0.0.1 at a free port, answering from a
/// script of (request number, user message) -> reply. Real HTTP through Kestrel, so the judge's client, its status
/// handling and its timeouts are exercised end to end.
/// </summary>
internal sealed class FakeChatServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Func<int, string, ServerReply> script;
    private int count;

    private FakeChatServer(WebApplication app, Func<int, string, ServerReply> script)
    {
        this.app = app;
        this.script = script;
    }

    /// <summary>Requests in arrival order.</summary>
    public ConcurrentQueue<ServerRequest> Requests { get; } = new();

    /// <summary>The API base, e.g. http://127.0.0.1:41234/v1.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>
    /// Starts a server answering with <paramref name="script"/> (request number from 0, user message).
    /// </summary>
    public static async Task<FakeChatServer> StartAsync(Func<int, string, ServerReply> script)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeChatServer(app, script);
        app.UseRouting();
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        var address = addresses.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body);
        var messages = body!["messages"]!.AsArray();
        string user = messages.Last(m => (string?)m!["role"] == "user")!["content"] switch
        {
            JsonValue v => (string)v!,
            JsonArray parts => string.Concat(parts.Select(p => (string?)p!["text"])),
            var other => other?.ToJsonString() ?? "",
        };
        Requests.Enqueue(new ServerRequest((string?)body["model"], user));
        var reply = script(Interlocked.Increment(ref count) - 1, user);
        switch (reply)
        {
            case ServerReply.Hang:
                try { await Task.Delay(Timeout.Infinite, context.RequestAborted); }
                catch (OperationCanceledException) { }
                return;
            case ServerReply.Status s:
                context.Response.StatusCode = s.Code;
                await Write(context, new JsonObject
                {
                    ["error"] = new JsonObject { ["message"] = "the fake server failed", ["type"] = "server_error" },
                });
                return;
            case ServerReply.Answer a:
                await Write(context, new JsonObject
                {
                    ["id"] = "chatcmpl-fake",
                    ["object"] = "chat.completion",
                    ["created"] = 0,
                    ["model"] = (string?)body["model"] ?? "fake",
                    ["choices"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0,
                        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = a.Content },
                        ["finish_reason"] = "stop",
                    }),
                    ["usage"] = new JsonObject
                    {
                        ["prompt_tokens"] = 1, ["completion_tokens"] = 1, ["total_tokens"] = 2,
                    },
                });
                return;
        }
    }

    private static Task Write(HttpContext context, JsonObject json)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json.ToJsonString(JsonSerializerOptions.Default));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
