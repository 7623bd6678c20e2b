using System.Text.Json;
using System.Text.Json.Nodes;

namespace AlignSharp.Data.Formats;

/// <summary>Record layouts, following TRL's data set conventions.</summary>
public enum DataFormat
{
    /// <summary>Detect from the first record's fields.</summary>
    Auto,
    /// <summary><c>prompt</c>, <c>chosen</c>, <c>rejected</c> as strings.</summary>
    Explicit,
    /// <summary>Only <c>chosen</c> and <c>rejected</c> strings; the prompt is their shared prefix (Anthropic HH dialogues).</summary>
    Implicit,
    /// <summary>
    /// Lists of <c>{role, content}</c>: <c>prompt</c>/<c>chosen</c>/<c>rejected</c>, or full conversations in
    /// <c>chosen</c>/<c>rejected</c> sharing their opening turns, or a <c>messages</c> prompt; rendered with a chat template.
    /// </summary>
    Conversational,
    /// <summary><c>prompt</c>, <c>completion</c>, <c>label</c> (bool) for KTO.</summary>
    Unpaired,
    /// <summary><c>prompt</c>, <c>responses</c> (several) and <c>scores</c>, turned into pairs by a <see cref="RankedPairing"/> rule.</summary>
    Ranked,
    /// <summary>
    /// Step-annotated solutions (Step-DPO, SCDPO): <c>prompt</c>, the correct prefix steps (<c>prefix_steps</c> list
    /// or <c>initial_reason_steps</c> text, may be empty; appended to the prompt), <c>chosen</c>/<c>rejected</c> next
    /// step or suffix (text or list of steps).
    /// </summary>
    Steps,
    /// <summary>Multi-turn agent trajectories (DMPO): <c>task</c> and <c>chosen</c>/<c>rejected</c> message lists.</summary>
    Trajectory,
    /// <summary>
    /// Segment-annotated dialogues (SDPO): <c>history</c>, <c>chosen</c>/<c>rejected</c> turns from the first
    /// erroneous one, <c>segment</c> = [start, end] turn indices of the key segment.
    /// </summary>
    Segment,
    /// <summary>N-way ranked responses split in steps (TPO): <c>prompt</c>, <c>responses</c> (lists of steps), <c>scores</c>.</summary>
    Tree,
    /// <summary>Two samples with their rewards (CoPG): <c>prompt</c>, <c>samples</c> = [{text, reward}, {text, reward}].</summary>
    Scored,
    /// <summary>Pairs with a refinement prompt (Sr-DPO): <c>prompt</c>, <c>chosen</c>, <c>rejected</c>, <c>refinement_prompt</c>.</summary>
    Refinement,
    /// <summary>Pairs whose chosen is a minimal edit of rejected (BMC): <c>prompt</c>, <c>chosen</c>, <c>rejected</c>.</summary>
    Edit,
    /// <summary>
    /// Solutions with an outcome reward (OREO): <c>prompt</c>, <c>steps</c> (a list of step texts: step-level states)
    /// or <c>solution</c> (one text: every token a state), <c>reward</c> (a finite number, 0/1 in the paper).
    /// </summary>
    Outcome,
}

/// <summary>Format names for the command line, and detection from a record's fields.</summary>
public static class DataFormats
{
    /// <summary>Parses a format name (auto, explicit, implicit, conversational, unpaired, ranked).</summary>
    public static DataFormat Parse(string name) => Enum.TryParse<DataFormat>(name, ignoreCase: true, out var f) && !int.TryParse(name, out _)
        ? f
        : throw new ArgumentException($"unknown data format '{name}' (expected {string.Join(", ", Enum.GetNames<DataFormat>().Select(n => n.ToLowerInvariant()))})");

    /// <summary>The format a record's fields indicate, or null when they fit none.</summary>
    public static DataFormat? Detect(JsonObject record)
    {
        if (record.ContainsKey("initial_reason_steps") || record.ContainsKey("prefix_steps")) return DataFormat.Steps;
        if (record.ContainsKey("samples")) return DataFormat.Scored;
        if (record.ContainsKey("reward") && (record.ContainsKey("steps") || record.ContainsKey("solution")))
            return DataFormat.Outcome;
        if (record.ContainsKey("refinement_prompt")) return DataFormat.Refinement;
        if (record.ContainsKey("segment")) return DataFormat.Segment;
        if (record.ContainsKey("task") && record.ContainsKey("chosen")) return DataFormat.Trajectory;
        if (record["responses"] is JsonArray { Count: > 0 } rs && rs[0] is JsonArray first && first.All(x => x is JsonValue))
            return DataFormat.Tree;
        if (record.ContainsKey("responses")) return DataFormat.Ranked;
        if (record.ContainsKey("completion") && record.ContainsKey("label")) return DataFormat.Unpaired;
        if (!record.ContainsKey("chosen") || !record.ContainsKey("rejected")) return null;
        bool Structured(string key) => record[key]?.GetValueKind() is JsonValueKind.Array or JsonValueKind.Object;
        if (Structured("chosen") || Structured("rejected") || (record.ContainsKey("prompt") && Structured("prompt")) || record.ContainsKey("messages"))
            return DataFormat.Conversational;
        return record.ContainsKey("prompt") ? DataFormat.Explicit : DataFormat.Implicit;
    }
}

/// <summary>How a ranked record (several scored responses) becomes pairs.</summary>
public enum RankedPairing
{
    /// <summary>One pair: the best-scored response against the worst.</summary>
    BestVsWorst,
    /// <summary>The best against each lower-scored response, largest score gap first (Curry-DPO's easy-to-hard order).</summary>
    BestVsEach,
    /// <summary>Every pair of responses with different scores, higher score chosen.</summary>
    AllPairs,
}
