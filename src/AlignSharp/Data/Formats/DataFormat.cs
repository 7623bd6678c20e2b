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
