using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Data.Chat;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data.Formats;

/// <summary>
/// The token-level record formats (spec objectives-tokenlevel.md, "Data each objective needs"): each record is
/// checked like the pairwise formats and reported with its file, line and reason when it cannot be used; what it
/// carries beyond text goes into <see cref="PairAnnotations"/> (or a <see cref="TreeExample"/>).
/// </summary>
public sealed partial class RecordConverter
{
    /// <summary>
    /// Step-annotated solution: the correct prefix steps are appended to the prompt (Step-DPO's layout; with summed
    /// log-probs it is also SCDPO's, since a shared prefix cancels), the completions are the next step or suffix.
    /// </summary>
    private static PreferenceExample Steps(JsonObject r, SourceLocation where)
    {
        string prompt = Text(r, "prompt");
        List<string> prefix;
        string prefixText;
        if (r.ContainsKey("prefix_steps"))
        {
            prefix = StepList(r, "prefix_steps", allowEmpty: true);
            prefixText = string.Concat(prefix.Select(WithNewline));
        }
        else
        {
            prefixText = Text(r, "initial_reason_steps");
            prefix = [.. prefixText.Split('\n').Where(l => l.Trim().Length > 0)];
        }
        var chosen = StepList(r, "chosen", allowEmpty: false);
        var rejected = StepList(r, "rejected", allowEmpty: false);
        var e = Checked(prompt + prefixText, Join(chosen), Join(rejected), r, where);
        return e with
        {
            Annotations = new PairAnnotations
            {
                Chosen = StepParts(chosen, prefix.Count),
                Rejected = StepParts(rejected, prefix.Count),
                PrefixSteps = prefix.Count,
            },
        };
    }

    /// <summary>Multi-turn agent trajectories from one task: assistant turns are the agent's (labels,
    /// numbered).</summary>
    private PreferenceExample Trajectory(JsonObject r, SourceLocation where)
    {
        var task = r["task"] is JsonValue ? [new ChatMessage("user", Text(r, "task"))] : Turns(r, "task");
        var (chosenText, chosenParts) = RenderTurns(task, Turns(r, "chosen"), "chosen", null);
        var (rejectedText, rejectedParts) = RenderTurns(task, Turns(r, "rejected"), "rejected", null);
        var e = Checked(chat.Render(task, addGenerationPrompt: true), chosenText, rejectedText, r, where);
        return e with { Annotations = new PairAnnotations { Chosen = chosenParts, Rejected = rejectedParts } };
    }

    /// <summary>
    /// Segment-annotated dialogues sharing <c>history</c>: <c>chosen</c>/<c>rejected</c> start at the first erroneous
    /// turn; <c>segment</c> = [start, end] (0-based, inclusive) marks the key segment; both are cut after
    /// <c>end</c> (the negative to the same number of turns).
    /// </summary>
    private PreferenceExample Segment(JsonObject r, SourceLocation where)
    {
        var history = Turns(r, r.ContainsKey("history") ? "history" : "prompt");
        var chosen = Turns(r, "chosen");
        var rejected = Turns(r, "rejected");
        bool TwoIntegers(JsonArray a) => a.All(x => x is JsonValue v && v.TryGetValue<int>(out _));
        if (r["segment"] is not JsonArray { Count: 2 } seg || !TwoIntegers(seg))
            throw new RecordRejected(RecordIssue.WrongType,
                $"field 'segment' must be [start, end] (two integers), got {Kind(r["segment"])}");
        int start = seg[0]!.GetValue<int>(), end = seg[1]!.GetValue<int>();
        if (start < 0 || end < start || end >= chosen.Count)
            throw new RecordRejected(RecordIssue.InvalidAnnotation,
                $"segment [{start}, {end}] is not within the {chosen.Count} turns of 'chosen' "
                + "(0 <= start <= end < turns)");
        if (rejected.Count <= start)
            throw new RecordRejected(RecordIssue.InvalidAnnotation,
                $"'rejected' has {rejected.Count} turn(s); the segment starts at turn {start}");
        chosen = chosen[..(end + 1)];
        rejected = rejected[..Math.Min(rejected.Count, end + 1)];
        var (chosenText, chosenParts) = RenderTurns(history, chosen, "chosen", (start, end));
        var (rejectedText, rejectedParts) = RenderTurns(history, rejected, "rejected", (start, end));
        foreach (var (parts, name) in new[] { (chosenParts, "chosen"), (rejectedParts, "rejected") })
            if (!parts.Any(p => p.InSegment && p.Kind == PartKind.AgentTurn))
                throw new RecordRejected(RecordIssue.InvalidAnnotation,
                    $"the segment of '{name}' holds no assistant turn");
        var e = Checked(chat.Render(history, addGenerationPrompt: true), chosenText, rejectedText, r, where);
        return e with { Annotations = new PairAnnotations { Chosen = chosenParts, Rejected = rejectedParts } };
    }

    /// <summary>A TPO tree: N ≥ 2 responses as lists of steps with scores; steps clipped to the shortest
    /// response.</summary>
    private static TreeExample Tree(JsonObject r, SourceLocation where)
    {
        string prompt = Text(r, "prompt");
        var responses = r["responses"] as JsonArray ?? throw Missing(r, "responses", "an array of step lists");
        var scoresNode = r["scores"] as JsonArray ?? throw Missing(r, "scores", "an array of numbers");
        if (responses.Count < 2)
            throw new RecordRejected(RecordIssue.NoRankedPair,
                $"{responses.Count} response(s); a tree needs at least two");
        if (scoresNode.Count != responses.Count)
            throw new RecordRejected(RecordIssue.WrongType,
                $"'responses' has {responses.Count} entries but 'scores' has {scoresNode.Count}");
        var scores = scoresNode.Select((s, i) => s is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? v.GetValue<double>()
            : throw new RecordRejected(RecordIssue.WrongType,
                $"scores[{i}] must be a number, got {Kind(s)}")).ToArray();
        var steps = responses.Select((x, i) =>
        {
            if (x is not JsonArray a || a.Count == 0)
                throw new RecordRejected(RecordIssue.InvalidAnnotation,
                    $"responses[{i}] must be a non-empty list of steps, got {Kind(x)}");
            return a.Select((s, k) => NonEmptyText(s) is { } text
                ? text
                : throw new RecordRejected(RecordIssue.InvalidAnnotation,
                    $"responses[{i}][{k}] must be a non-empty step text, got {Kind(s)}")).ToList();
        }).ToList();
        if (scores.Distinct().Count() == 1)
            throw new RecordRejected(RecordIssue.NoRankedPair, "all responses have the same score");
        int k = steps.Min(s => s.Count); // the released dataset.py clips step ids to the shortest response
        var clipped = steps.Select(s =>
        {
            var joined = s.Select((x, i) => i < s.Count - 1 ? WithNewline(x) : x).ToList();
            return (IReadOnlyList<string>)[.. joined.Take(k - 1), string.Concat(joined.Skip(k - 1))];
        }).ToList();
        // Best first; OrderByDescending is stable, so ties keep the record's order.
        var order = Enumerable.Range(0, steps.Count).OrderByDescending(i => scores[i]).ToList();
        return new TreeExample(prompt, [.. order.Select(i => clipped[i])], [.. order.Select(i => scores[i])], where);
    }

    /// <summary>
    /// A solution with its outcome reward (OREO): <c>steps</c> (list: each step's first token is a state) or
    /// <c>solution</c> (text: every token is a state), and a finite <c>reward</c>.
    /// </summary>
    private static TreeExample Outcome(JsonObject r, SourceLocation where)
    {
        string prompt = Text(r, "prompt");
        if (r.ContainsKey("steps") && r.ContainsKey("solution"))
            throw new RecordRejected(RecordIssue.InvalidAnnotation,
                "give either 'steps' (a list of step texts) or 'solution' (one text), not both");
        bool tokenStates = !r.ContainsKey("steps");
        var steps = tokenStates ? [Text(r, "solution")] : StepList(r, "steps", allowEmpty: false);
        if (tokenStates && steps[0].Trim().Length == 0)
            throw new RecordRejected(RecordIssue.EmptyCompletion, "'solution' is empty");
        double reward = r["reward"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && double.IsFinite(v.GetValue<double>())
            ? v.GetValue<double>()
            : throw new RecordRejected(r["reward"] is null ? RecordIssue.MissingField : RecordIssue.WrongType,
                $"field 'reward' must be a finite number (the outcome reward, 0 or 1 in the paper), got "
                + Kind(r["reward"]));
        var joined = steps.Select((x, i) => i < steps.Count - 1 ? WithNewline(x) : x).ToList();
        return new TreeExample(prompt, [joined], [reward], where) { EveryTokenIsState = tokenStates };
    }

    /// <summary>Two samples from any behaviour policy with their rewards (CoPG); no preference implied.</summary>
    private static PreferenceExample Scored(JsonObject r, SourceLocation where)
    {
        string prompt = Text(r, "prompt");
        var samples = r["samples"] as JsonArray ?? throw Missing(r, "samples", "an array of two {text, reward}");
        if (samples.Count != 2)
            throw new RecordRejected(RecordIssue.InvalidAnnotation,
                $"'samples' has {samples.Count} entries; CoPG needs exactly two");
        var (texts, rewards) = (new string[2], new double[2]);
        for (int i = 0; i < 2; i++)
        {
            if (samples[i] is not JsonObject s)
                throw new RecordRejected(RecordIssue.WrongType,
                    $"samples[{i}] must be an object {{text, reward}}, got {Kind(samples[i])}");
            texts[i] = s["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>()
                : throw new RecordRejected(s["text"] is null ? RecordIssue.MissingField : RecordIssue.WrongType,
                    $"samples[{i}].text must be a string, got {Kind(s["text"])}");
            rewards[i] = s["reward"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number
                && double.IsFinite(v.GetValue<double>())
                ? v.GetValue<double>()
                : throw new RecordRejected(s["reward"] is null ? RecordIssue.MissingField : RecordIssue.WrongType,
                    $"samples[{i}].reward must be a finite number, got {Kind(s["reward"])}");
        }
        var e = Checked(prompt, texts[0], texts[1], r, where);
        return e with
        {
            Extras = new Dictionary<string, double>(e.Extras)
            {
                ["chosen_score"] = rewards[0], ["rejected_score"] = rewards[1],
            },
        };
    }

    /// <summary>A pair with Sr-DPO's refinement prompt (the paper's when the record has none).</summary>
    private static PreferenceExample Refinement(JsonObject r, SourceLocation where)
    {
        string refinement = r.ContainsKey("refinement_prompt") ? Text(r, "refinement_prompt")
            : Objectives.TokenLevel.SelfRefinement.DefaultPrompt;
        if (refinement.Trim().Length == 0)
            throw new RecordRejected(RecordIssue.InvalidAnnotation, "'refinement_prompt' is empty");
        return Explicit(r, where) with { Annotations = new PairAnnotations { RefinementPrompt = refinement } };
    }

    /// <summary>
    /// Renders prompt + turns one turn at a time: each turn's text is the growth of the rendering, so the parts
    /// concatenate to the completion. The first turn must be the agent's (the prompt ends with the generation prompt).
    /// </summary>
    private (string Text, List<CompletionPart> Parts) RenderTurns(
        List<ChatMessage> prompt, List<ChatMessage> turns, string name, (int Start, int End)? segment)
    {
        if (turns.Count == 0 || turns[0].Role != "assistant")
            throw new RecordRejected(RecordIssue.InvalidAnnotation,
                $"the first turn of '{name}' must be the agent's (role assistant)");
        string promptText = chat.Render(prompt, addGenerationPrompt: true), previous = promptText;
        var parts = new List<CompletionPart>();
        int agent = 0;
        for (int k = 0; k < turns.Count; k++)
        {
            if (turns[k].Role == "assistant" && string.IsNullOrWhiteSpace(turns[k].Content))
                throw new RecordRejected(RecordIssue.EmptyCompletion, $"'{name}' turn {k} (assistant) is empty");
            string full = chat.Render([.. prompt, .. turns[..(k + 1)]], addGenerationPrompt: false);
            if (!full.StartsWith(previous, StringComparison.Ordinal))
                throw new RecordRejected(RecordIssue.PromptNotSharedPrefix,
                    $"chat template '{chat.Name}': rendering '{name}' up to turn {k} does not extend the "
                    + "rendering before it");
            bool isAgent = turns[k].Role == "assistant";
            bool inSegment = segment is { } s && k >= s.Start && k <= s.End;
            parts.Add(new CompletionPart(full[previous.Length..], isAgent ? PartKind.AgentTurn : PartKind.OtherTurn,
                isAgent ? agent++ : k, inSegment));
            previous = full;
        }
        return (previous[promptText.Length..], parts);
    }

    /// <summary>A step field: one text, or a list of step texts (non-empty unless allowed).</summary>
    private static List<string> StepList(JsonObject r, string name, bool allowEmpty)
    {
        var node = r[name];
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return [v.GetValue<string>()];
        if (node is not JsonArray a) throw Missing(r, name, "a step text or a list of step texts");
        if (a.Count == 0 && !allowEmpty)
            throw new RecordRejected(RecordIssue.EmptyCompletion, $"'{name}' has no step");
        return [.. a.Select((s, i) => NonEmptyText(s) is { } text
            ? text
            : throw new RecordRejected(RecordIssue.InvalidAnnotation,
                $"{name}[{i}] must be a non-empty step text, got {Kind(s)}"))];
    }

    private static string WithNewline(string step) => step.EndsWith('\n') ? step : step + "\n";

    private static string? NonEmptyText(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Trim().Length > 0
            ? v.GetValue<string>() : null;

    private static string Join(List<string> steps) =>
        string.Concat(steps.Select((s, i) => i < steps.Count - 1 ? WithNewline(s) : s));

    private static List<CompletionPart> StepParts(List<string> steps, int first) =>
        [.. steps.Select((s, i) =>
            new CompletionPart(i < steps.Count - 1 ? WithNewline(s) : s, PartKind.Step, first + i))];
}
