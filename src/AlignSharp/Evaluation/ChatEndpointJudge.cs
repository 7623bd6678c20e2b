using System.ClientModel;
using System.ClientModel.Primitives;
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

    /// <summary>
    /// Requests per comparison before it is reported invalid: a malformed reply, an HTTP error or a timeout is
    /// retried until this many attempts were made.
    /// </summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Longest wait for one reply; a slower request is abandoned and counts as a failed attempt.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Pause before a retry (doubled after each failed attempt).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Throws <see cref="EvaluationException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxAttempts < 1) throw new EvaluationException($"judge max_attempts must be >= 1 (got {MaxAttempts})");
        if (RequestTimeout <= TimeSpan.Zero)
            throw new EvaluationException($"judge timeout must be > 0 (got {RequestTimeout})");
        if (RetryDelay < TimeSpan.Zero)
            throw new EvaluationException($"judge retry delay must be >= 0 (got {RetryDelay})");
        if (MaxOutputTokens < 1)
            throw new EvaluationException($"judge max_output_tokens must be >= 1 (got {MaxOutputTokens})");
    }
}

/// <summary>
/// A judge backed by a chat model behind any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, OpenAI), through
/// Microsoft.Extensions.AI's <see cref="IChatClient"/>. It shows the prompt and the two responses as "A" and "B"
/// and reads a one-letter verdict. A reply naming neither, an HTTP error and a timeout are retried up to
/// <see cref="ChatEndpointJudgeOptions.MaxAttempts"/> times; after that the comparison is
/// <see cref="PairVerdict.Invalid"/> with every raw reply and error kept for the report. It never guesses.
/// </summary>
public sealed partial class ChatEndpointJudge : IReportingPairJudge
{
    private readonly IChatClient client;
    private readonly ChatEndpointJudgeOptions settings;

    /// <summary>A judge asking <paramref name="client"/>.</summary>
    public ChatEndpointJudge(IChatClient client, ChatEndpointJudgeOptions? options = null)
    {
        this.client = client;
        settings = options ?? new ChatEndpointJudgeOptions();
        settings.Validate();
    }

    /// <summary>The system instruction sent with every comparison.</summary>
    public const string SystemPrompt =
        "You are an impartial judge. You compare two responses to the same prompt and decide which one is better. " +
        "Reply with exactly one letter: A or B. Reply TIE only if they are equally good.";

    /// <summary>
    /// An <see cref="IChatClient"/> for the OpenAI-compatible API at <paramref name="baseUrl"/> (e.g.
    /// http://localhost:8000/v1). The OpenAI client's own retries are off: the judge retries, and reports.
    /// </summary>
    public static IChatClient CreateClient(Uri baseUrl, string model, string? apiKey = null, TimeSpan? timeout = null)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = timeout ?? TimeSpan.FromSeconds(100),
        };
        var key = new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "no-key" : apiKey);
        return new ChatClient(model, key, options).AsIChatClient();
    }

    /// <inheritdoc />
    public async Task<PairVerdict> JudgeAsync(string prompt, string first, string second,
        CancellationToken cancellationToken = default) =>
        (await AskAsync(prompt, first, second, cancellationToken).ConfigureAwait(false)).Verdict;

    /// <inheritdoc />
    public async Task<JudgeCall> AskAsync(string prompt, string first, string second,
        CancellationToken cancellationToken = default)
    {
        var attempts = new List<JudgeAttempt>();
        var delay = settings.RetryDelay;
        for (int attempt = 1; attempt <= settings.MaxAttempts; attempt++)
        {
            if (attempt > 1 && delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay *= 2;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(settings.RequestTimeout);
            try
            {
                var response = await client.GetResponseAsync(BuildMessages(prompt, first, second), BuildOptions(),
                    timeout.Token).ConfigureAwait(false);
                var verdict = ParseVerdict(response.Text);
                string? error = verdict == PairVerdict.Invalid ? "malformed reply" : null;
                attempts.Add(new JudgeAttempt(response.Text, error));
                if (verdict != PairVerdict.Invalid) return new JudgeCall(verdict, attempts);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                attempts.Add(new JudgeAttempt(null, $"no reply within {settings.RequestTimeout.TotalSeconds:0.###} s"));
            }
            catch (ClientResultException e)
            {
                attempts.Add(new JudgeAttempt(null, $"HTTP {e.Status}: {FirstLine(e.Message)}"));
            }
            catch (HttpRequestException e)
            {
                attempts.Add(new JudgeAttempt(null, $"request failed: {FirstLine(e.Message)}"));
            }
        }
        return new JudgeCall(PairVerdict.Invalid, attempts);
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>
    /// The chat messages of one comparison: the system instruction, then the prompt and both responses.
    /// </summary>
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
        if (leading.Success)
            return leading.Groups[1].Value.Equals("A", StringComparison.OrdinalIgnoreCase)
                ? PairVerdict.First : PairVerdict.Second;
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
