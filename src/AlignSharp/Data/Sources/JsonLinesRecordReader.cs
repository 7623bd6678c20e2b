using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data.Sources;

/// <summary>
/// Reads JSON Lines (plain or .gz) as raw records. Lines are split on bytes and decoded one at a time with a strict
/// UTF-8 decoder, so invalid UTF-8, a truncated line or a non-object line costs that line only (reported with its
/// number), not the file. Blank lines are not records.
/// </summary>
public static class JsonLinesRecordReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Reads every line of <paramref name="path"/>.</summary>
    public static IEnumerable<RawRecord> Read(string path)
    {
        using var stream = DataFiles.OpenRead(path);
        var chunk = new byte[1 << 16];
        var pending = new ArrayBufferWriter<byte>();
        long lineNo = 0;
        while (true)
        {
            int n = Fill(stream, chunk, path, lineNo);
            if (n == 0) break;
            var span = chunk.AsMemory(0, n);
            int idx;
            while ((idx = span.Span.IndexOf((byte)'\n')) >= 0)
            {
                pending.Write(span.Span[..idx]);
                span = span[(idx + 1)..];
                lineNo++;
                if (ParseLine(pending.WrittenSpan, new SourceLocation(path, lineNo)) is { } r) yield return r;
                pending.ResetWrittenCount();
            }
            pending.Write(span.Span);
        }
        if (pending.WrittenCount > 0)
        {
            lineNo++;
            if (ParseLine(pending.WrittenSpan, new SourceLocation(path, lineNo)) is { } r) yield return r;
        }
    }

    private static int Fill(Stream s, byte[] buffer, string path, long lineNo)
    {
        try { return s.Read(buffer, 0, buffer.Length); }
        catch (InvalidDataException e) { throw new DataException(new SourceLocation(path, lineNo + 1), $"corrupt or truncated gzip stream ({e.Message})"); }
    }

    /// <summary>Parses one line's bytes; null for a blank line.</summary>
    public static RawRecord? ParseLine(ReadOnlySpan<byte> bytes, SourceLocation where)
    {
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        if (bytes.Length > 0 && bytes[^1] == '\r') bytes = bytes[..^1];
        if (bytes.Trim(" \t"u8).IsEmpty) return null;
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException e) { return RawRecord.Bad(where, RecordIssue.InvalidUtf8, $"invalid UTF-8 byte sequence at byte {e.Index}"); }
        return ParseJson(text, where);
    }

    /// <summary>Parses one JSON text into a raw record.</summary>
    public static RawRecord ParseJson(string text, SourceLocation where)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException e) { return RawRecord.Bad(where, RecordIssue.InvalidJson, $"invalid JSON ({FirstSentence(e.Message)})"); }
        return Record(node, where);
    }

    /// <summary>A parsed record: an object whose every nested object has distinct keys, else a bad record.</summary>
    internal static RawRecord Record(JsonNode? node, SourceLocation where)
    {
        if (node is not JsonObject o)
            return RawRecord.Bad(where, RecordIssue.NotAnObject, $"record is a JSON {Kind(node)}, not an object");
        return DuplicateKey(o) is { } key
            ? RawRecord.Bad(where, RecordIssue.InvalidJson, $"invalid JSON (key '{key}' appears twice in an object)")
            : RawRecord.Ok(where, o);
    }

    /// <summary>
    /// The first key that appears twice in an object of the tree, or null. JsonObject builds its key table on first
    /// access and throws there, so every object is touched here, where the error can still name the record.
    /// </summary>
    private static string? DuplicateKey(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                try { _ = o.Count; }
                catch (ArgumentException e) { return e.Message.Split("Key: ").LastOrDefault()?.Split(' ')[0] ?? "?"; }
                foreach (var (_, v) in o) if (DuplicateKey(v) is { } k) return k;
                return null;
            case JsonArray a:
                foreach (var v in a) if (DuplicateKey(v) is { } k) return k;
                return null;
            default:
                return null;
        }
    }

    internal static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        var k => k.ToString()!.ToLowerInvariant(),
    };

    internal static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? message.TrimEnd('.') : message[..i];
    }
}
