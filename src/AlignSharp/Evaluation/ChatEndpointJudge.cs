using System.ClientModel;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace AlignSharp.Evaluation;

/// <summary>Settings of a <see cref="ChatEndpointJudge"/>.</summary>
public sealed record ChatEndpointJudgeOptions
{
    /// <summary>What "better" means for this task, shown to the judge model.</summary>
    public string Criterion { get; init; } = "Which response is more helpful, correct and well written?";

    /// <summary>Model id sent with each request (null: the client's default).</summary>
    public string? ModelId { get; init; }

    /// <summary>Reply length limit (sent as max_completion_tokens by the OpenAI client).</summary>
    public int MaxOutputTokens { get; init; } = 16;

    /// <summary>Sampling temperature of the judge.</summary>
    public float Temperature { get; init; }
}

/// <summary>
/// A judge backed by a chat model behind any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, OpenAI), through
/// Microsoft.Extensions.AI's <see cref="IChatClient"/>. It shows the prompt and the two responses as "A" and "B"
/// and reads a one-letter verdict; a reply naming neither is <see cref="PairVerdict.Invalid"/>.
/// </summary>
public sealed partial class ChatEndpointJudge(IChatClient client, ChatEndpointJudgeOptions? options = null) : IPairJudge
{
    private readonly ChatEndpointJudgeOptions settings = options ?? new ChatEndpointJudgeOptions();

    /// <summary>The system instruction sent with every comparison.</summary>
    public const string SystemPrompt =
        "You are an impartial judge. You compare two responses to the same prompt and decide which one is better. " +
        "Reply with exactly one letter: A or B. Reply TIE only if they are equally good.";

    /// <summary>An <see cref="IChatClient"/> for the OpenAI-compatible API at <paramref name="baseUrl"/> (e.g. http://localhost:8000/v1).</summary>
    public static IChatClient CreateClient(Uri baseUrl, string model, string? apiKey = null) =>
        new ChatClient(model, new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "no-key" : apiKey), new OpenAIClientOptions { Endpoint = baseUrl })
            .AsIChatClient();

    /// <inheritdoc />
    public async Task<PairVerdict> JudgeAsync(string prompt, string first, string second, CancellationToken cancellationToken = default)
    {
        var response = await client.GetResponseAsync(BuildMessages(prompt, first, second), BuildOptions(), cancellationToken).ConfigureAwait(false);
        return ParseVerdict(response.Text);
    }

    /// <summary>The chat messages of one comparison: the system instruction, then the prompt and both responses.</summary>
    public IReadOnlyList<ChatMessage> BuildMessages(string prompt, string first, string second) =>
    [
        new(ChatRole.System, SystemPrompt),
        new(ChatRole.User,
            $"[Prompt]\n{prompt}\n\n[Response A]\n{first}\n\n[Response B]\n{second}\n\n" +
            $"{settings.Criterion}\nAnswer with A or B."),
    ];

    /// <summary>The request options: model id, reply limit and temperature.</summary>
    public ChatOptions BuildOptions() => new()
    {
        ModelId = settings.ModelId,
        MaxOutputTokens = settings.MaxOutputTokens,
        Temperature = settings.Temperature,
    };

    /// <summary>
    /// Reads a verdict: the first standalone "A" or "B" (also "Response B", "**A**", "(B)"), or "tie"; a reply that
    /// names both letters as answers, or neither, is <see cref="PairVerdict.Invalid"/>.
    /// </summary>
    public static PairVerdict ParseVerdict(string? reply)
    {
        if (string.IsNullOrWhiteSpace(reply)) return PairVerdict.Invalid;
        var text = reply.Trim();
        if (TieWord().IsMatch(text)) return PairVerdict.Tie;
        var leading = LeadingLetter().Match(text);
        if (leading.Success) return leading.Groups[1].Value.Equals("A", StringComparison.OrdinalIgnoreCase) ? PairVerdict.First : PairVerdict.Second;
        var named = NamedResponse().Matches(text).Select(m => m.Groups[1].Value.ToUpperInvariant()).Distinct().ToList();
        return named.Count == 1 ? (named[0] == "A" ? PairVerdict.First : PairVerdict.Second) : PairVerdict.Invalid;
    }

    [GeneratedRegex(@"^\W*tie\b", RegexOptions.IgnoreCase)]
    private static partial Regex TieWord();

    // "A", "B.", "**B**", "(A)", "Response A", "Answer: B" at the start of the reply; case-sensitive letters.
    [GeneratedRegex(@"^[\s\*\(\[""']*(?:(?:[Rr]esponse|[Aa]nswer|[Vv]erdict)\W*)?([AB])(?![A-Za-z])")]
    private static partial Regex LeadingLetter();

    [GeneratedRegex(@"\b[Rr]esponse\s+([AB])\b")]
    private static partial Regex NamedResponse();
}
