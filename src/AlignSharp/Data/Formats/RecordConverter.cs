using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Data.Chat;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data.Formats;

/// <summary>What one record became: pairs, unpaired examples, or the problem that kept it from being used.</summary>
public sealed record Conversion(IReadOnlyList<PreferenceExample> Pairs, IReadOnlyList<UnpairedExample> Unpaired, RecordProblem? Problem)
{
    /// <summary>Preference trees (TPO's format) or outcome-scored solutions (OREO's).</summary>
    public IReadOnlyList<TreeExample> Trees { get; init; } = [];
}

/// <summary>
/// Interprets one JSON record in a given <see cref="DataFormat"/>. Checks what every format needs (fields present and
/// of the right type, non-empty completions, chosen differing from rejected, a shared prompt) and reports the first
/// problem instead of throwing. Top-level numeric fields are kept as extras; <c>score_chosen</c>/<c>score_rejected</c>
/// are also exposed as <c>chosen_score</c>/<c>rejected_score</c> (the names ODPO reads).
/// </summary>
public sealed partial class RecordConverter(DataFormat format, IChatFormatter chat, RankedPairing pairing = RankedPairing.BestVsWorst)
{
    /// <summary>Converts one record.</summary>
    public Conversion Convert(JsonObject record, SourceLocation where)
    {
        try
        {
            return format switch
            {
                DataFormat.Explicit => Paired(Explicit(record, where)),
                DataFormat.Implicit => Paired(Implicit(record, where)),
                DataFormat.Conversational => Paired(Conversational(record, where)),
                DataFormat.Unpaired => new Conversion([], [UnpairedOf(record, where)], null),
                DataFormat.Ranked => new Conversion(Ranked(record, where), [], null),
                DataFormat.Steps => Paired(Steps(record, where)),
                DataFormat.Trajectory => Paired(Trajectory(record, where)),
                DataFormat.Segment => Paired(Segment(record, where)),
                DataFormat.Tree => new Conversion([], [], null) { Trees = [Tree(record, where)] },
                DataFormat.Outcome => new Conversion([], [], null) { Trees = [Outcome(record, where)] },
                DataFormat.Scored => Paired(Scored(record, where)),
                DataFormat.Refinement => Paired(Refinement(record, where)),
                DataFormat.Edit => Paired(Explicit(record, where) with { Annotations = new PairAnnotations { Edit = true } }),
                _ => throw new ArgumentOutOfRangeException(nameof(format), format, "resolve Auto before converting"),
            };
        }
        catch (RecordRejected r)
        {
            return new Conversion([], [], new RecordProblem(where, r.Issue, r.Message));
        }
        catch (MissingChatTemplateException e)
        {
            // Not one bad record but a run that cannot read its data: stop, naming the first record that needed it.
            throw new DataException(where, e.Message);
        }
    }

    private static Conversion Paired(PreferenceExample e) => new([e], [], null);

    private static PreferenceExample Explicit(JsonObject r, SourceLocation where) =>
        Checked(Text(r, "prompt"), Text(r, "chosen"), Text(r, "rejected"), r, where);

    private static PreferenceExample Implicit(JsonObject r, SourceLocation where)
    {
        string chosen = Text(r, "chosen"), rejected = Text(r, "rejected");
        if (chosen == rejected) throw new RecordRejected(RecordIssue.IdenticalCompletions, "chosen and rejected are identical");
        int cut = PromptExtraction.SharedPromptLength(chosen, rejected);
        if (cut == 0) throw new RecordRejected(RecordIssue.PromptNotSharedPrefix, "chosen and rejected share no prefix to use as the prompt");
        return Checked(chosen[..cut], chosen[cut..], rejected[cut..], r, where);
    }

    private PreferenceExample Conversational(JsonObject r, SourceLocation where)
    {
        var chosen = Turns(r, "chosen");
        var rejected = Turns(r, "rejected");
        List<ChatMessage> prompt;
        if (r["prompt"] is JsonArray or JsonObject || r.ContainsKey("messages"))
        {
            prompt = Turns(r, r["prompt"] is JsonArray or JsonObject ? "prompt" : "messages");
            // Some data sets repeat the prompt turns at the start of chosen/rejected: drop them.
            if (chosen.Count > prompt.Count && PromptExtraction.SharedTurns(prompt, chosen) == prompt.Count) chosen = chosen[prompt.Count..];
            if (rejected.Count > prompt.Count && PromptExtraction.SharedTurns(prompt, rejected) == prompt.Count) rejected = rejected[prompt.Count..];
        }
        else
        {
            int k = PromptExtraction.SharedTurns(chosen, rejected);
            if (k == chosen.Count && k == rejected.Count) throw new RecordRejected(RecordIssue.IdenticalCompletions, "chosen and rejected conversations are identical");
            if (k == 0 && r["prompt"] is JsonValue)
                prompt = [new ChatMessage("user", Text(r, "prompt"))];
            else if (k == 0)
                throw new RecordRejected(RecordIssue.PromptNotSharedPrefix, "chosen and rejected conversations share no opening turn to use as the prompt");
            else
            {
                prompt = chosen[..k];
                chosen = chosen[k..];
                rejected = rejected[k..];
            }
        }
        if (chosen.Count == 0 || chosen.All(m => string.IsNullOrWhiteSpace(m.Content))) throw new RecordRejected(RecordIssue.EmptyCompletion, "chosen has no completion turn with text");
        if (rejected.Count == 0 || rejected.All(m => string.IsNullOrWhiteSpace(m.Content))) throw new RecordRejected(RecordIssue.EmptyCompletion, "rejected has no completion turn with text");
        return Checked(chat.Render(prompt, addGenerationPrompt: true), Render(prompt, chosen), Render(prompt, rejected), r, where);
    }

    /// <summary>Renders prompt + completion and returns the completion part; the rendered prompt must be a prefix.</summary>
    private string Render(List<ChatMessage> prompt, List<ChatMessage> completion)
    {
        var promptText = chat.Render(prompt, addGenerationPrompt: true);
        var full = chat.Render([.. prompt, .. completion], addGenerationPrompt: false);
        if (!full.StartsWith(promptText, StringComparison.Ordinal))
            throw new RecordRejected(RecordIssue.PromptNotSharedPrefix, $"chat template '{chat.Name}': the rendered prompt is not a prefix of the rendered conversation");
        return full[promptText.Length..];
    }

    private UnpairedExample UnpairedOf(JsonObject r, SourceLocation where)
    {
        bool label = r["label"] switch
        {
            null => throw new RecordRejected(RecordIssue.MissingField, "missing field 'label'"),
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is 0 or 1 => v.GetValue<double>() == 1,
            var v => throw new RecordRejected(RecordIssue.WrongType, $"field 'label' must be a boolean, got {Kind(v)}"),
        };
        string prompt, completion;
        if (r["prompt"] is JsonArray or JsonObject || r["completion"] is JsonArray or JsonObject)
        {
            var p = r["prompt"] is JsonValue ? [new ChatMessage("user", Text(r, "prompt"))] : Turns(r, "prompt");
            var c = Turns(r, "completion");
            if (c.All(m => string.IsNullOrWhiteSpace(m.Content))) throw new RecordRejected(RecordIssue.EmptyCompletion, "completion has no turn with text");
            (prompt, completion) = (chat.Render(p, addGenerationPrompt: true), Render(p, c));
        }
        else (prompt, completion) = (Text(r, "prompt"), Text(r, "completion"));
        if (string.IsNullOrWhiteSpace(completion)) throw new RecordRejected(RecordIssue.EmptyCompletion, "completion is empty");
        return new UnpairedExample(prompt, completion, label, where) { Extras = Extras(r) };
    }

    private List<PreferenceExample> Ranked(JsonObject r, SourceLocation where)
    {
        var responsesNode = r["responses"] as JsonArray ?? throw Missing(r, "responses", "an array");
        var scoresNode = (r["scores"] ?? r["rewards"]) as JsonArray ?? throw Missing(r, r.ContainsKey("rewards") ? "rewards" : "scores", "an array");
        if (scoresNode.Count != responsesNode.Count)
            throw new RecordRejected(RecordIssue.WrongType, $"'responses' has {responsesNode.Count} entries but the scores have {scoresNode.Count}");
        var scores = scoresNode.Select((s, i) => s is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? v.GetValue<double>() : throw new RecordRejected(RecordIssue.WrongType, $"score {i} must be a number, got {Kind(s)}")).ToArray();
        bool conversational = r["prompt"] is JsonArray or JsonObject || responsesNode.Any(x => x is JsonArray or JsonObject);
        string prompt;
        string[] texts;
        if (conversational)
        {
            var p = r["prompt"] is JsonValue ? [new ChatMessage("user", Text(r, "prompt"))] : Turns(r, "prompt");
            prompt = chat.Render(p, addGenerationPrompt: true);
            texts = responsesNode.Select((x, i) => Render(p, TurnsOf(x, $"responses[{i}]"))).ToArray();
        }
        else
        {
            prompt = Text(r, "prompt");
            texts = responsesNode.Select((x, i) => x is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>() : throw new RecordRejected(RecordIssue.WrongType, $"responses[{i}] must be a string, got {Kind(x)}")).ToArray();
        }
        // Responses ranked by score, best first; ties keep the record's order.
        var usable = Enumerable.Range(0, texts.Length).Where(i => !string.IsNullOrWhiteSpace(texts[i])).OrderByDescending(i => scores[i]).ToList();
        var pairs = new List<(int Chosen, int Rejected)>();
        if (usable.Count >= 2)
        {
            int best = usable[0];
            switch (pairing)
            {
                case RankedPairing.BestVsWorst:
                    pairs.Add((best, usable[^1]));
                    break;
                case RankedPairing.BestVsEach:
                    pairs.AddRange(usable.Skip(1).OrderByDescending(j => scores[best] - scores[j]).Select(j => (best, j)));
                    break;
                case RankedPairing.AllPairs:
                    for (int a = 0; a < usable.Count; a++)
                        for (int b = a + 1; b < usable.Count; b++) pairs.Add((usable[a], usable[b]));
                    break;
            }
        }
        pairs.RemoveAll(p => scores[p.Chosen] <= scores[p.Rejected] || texts[p.Chosen] == texts[p.Rejected]);
        if (pairs.Count == 0)
            throw new RecordRejected(RecordIssue.NoRankedPair, usable.Count < 2
                ? $"{usable.Count} non-empty response(s); a pair needs two"
                : "no two distinct responses have different scores");
        var extras = Extras(r);
        return pairs.Select(p => new PreferenceExample(prompt, texts[p.Chosen], texts[p.Rejected], where)
        {
            Extras = new Dictionary<string, double>(extras) { ["chosen_score"] = scores[p.Chosen], ["rejected_score"] = scores[p.Rejected] },
        }).ToList();
    }

    private static PreferenceExample Checked(string prompt, string chosen, string rejected, JsonObject r, SourceLocation where)
    {
        if (string.IsNullOrWhiteSpace(chosen)) throw new RecordRejected(RecordIssue.EmptyCompletion, "chosen completion is empty");
        if (string.IsNullOrWhiteSpace(rejected)) throw new RecordRejected(RecordIssue.EmptyCompletion, "rejected completion is empty");
        if (chosen == rejected) throw new RecordRejected(RecordIssue.IdenticalCompletions, "chosen and rejected completions are identical");
        return new PreferenceExample(prompt, chosen, rejected, where) { Extras = Extras(r) };
    }

    private static Dictionary<string, double> Extras(JsonObject r)
    {
        var extras = new Dictionary<string, double>();
        foreach (var (name, value) in r)
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number) extras[name] = v.GetValue<double>();
        if (extras.TryGetValue("score_chosen", out var sc)) extras.TryAdd("chosen_score", sc);
        if (extras.TryGetValue("score_rejected", out var sr)) extras.TryAdd("rejected_score", sr);
        return extras;
    }

    private static string Text(JsonObject r, string name) => r[name] switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        null => throw Missing(r, name, "a string"),
        var v => throw new RecordRejected(RecordIssue.WrongType, $"field '{name}' must be a string, got {Kind(v)}"),
    };

    private static List<ChatMessage> Turns(JsonObject r, string name) =>
        r[name] is null ? throw Missing(r, name, "a list of {role, content}") : TurnsOf(r[name], $"'{name}'");

    /// <summary>A list of {role, content}, a single {role, content}, or a plain string (an assistant turn).</summary>
    private static List<ChatMessage> TurnsOf(JsonNode? node, string what)
    {
        switch (node)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return [new ChatMessage("assistant", v.GetValue<string>())];
            case JsonObject o:
                return [Message(o, what)];
            case JsonArray a:
                return a.Select((m, i) => m is JsonObject o ? Message(o, $"{what}[{i}]")
                    : throw new RecordRejected(RecordIssue.WrongType, $"{what}[{i}] must be a {{role, content}} object, got {Kind(m)}")).ToList();
            default:
                throw new RecordRejected(RecordIssue.WrongType, $"{what} must be a list of {{role, content}}, got {Kind(node)}");
        }
    }

    private static ChatMessage Message(JsonObject o, string what)
    {
        string Field(string key) => o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
            : o[key] is null ? throw new RecordRejected(RecordIssue.MissingField, $"{what} has no '{key}'")
            : throw new RecordRejected(RecordIssue.WrongType, $"{what}.{key} must be a string, got {Kind(o[key])}");
        // Content may also be a list of text parts ([{"type": "text", "text": ...}]), joined; other parts (images) cannot be trained on here.
        if (o["content"] is JsonArray parts)
            return new ChatMessage(Field("role"), string.Concat(parts.Select((p, i) => p is JsonObject po && po["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String
                ? t.GetValue<string>()
                : throw new RecordRejected(RecordIssue.WrongType, $"{what}.content[{i}] must be a text part {{\"type\": \"text\", \"text\": ...}}, got {Kind(p)}"))));
        return new ChatMessage(Field("role"), Field("content"));
    }

    private static RecordRejected Missing(JsonObject r, string name, string expected) =>
        r.ContainsKey(name) && r[name] is not null
            ? new RecordRejected(RecordIssue.WrongType, $"field '{name}' must be {expected}, got {Kind(r[name])}")
            : new RecordRejected(RecordIssue.MissingField, $"missing field '{name}'");

    private static string Kind(JsonNode? node) => Sources.JsonLinesRecordReader.Kind(node);

    /// <summary>Internal signal: this record cannot be used, for this reason.</summary>
    private sealed class RecordRejected(RecordIssue issue, string message) : Exception(message)
    {
        public RecordIssue Issue { get; } = issue;
    }
}
