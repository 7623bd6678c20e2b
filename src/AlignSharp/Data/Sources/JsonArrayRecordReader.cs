using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data.Sources;

/// <summary>
/// Reads a file holding one JSON array of records (plain or .gz). Each element is reported with the line it starts on.
/// A file that is not valid JSON as a whole cannot be split into records: that is one <see cref="DataException"/>
/// naming the line where parsing stopped.
/// </summary>
public static class JsonArrayRecordReader
{
    /// <summary>Reads every element of the array in <paramref name="path"/>.</summary>
    public static IReadOnlyList<RawRecord> Read(string path)
    {
        byte[] bytes;
        using (var s = DataFiles.OpenRead(path))
        using (var ms = new MemoryStream())
        {
            try { s.CopyTo(ms); }
            catch (InvalidDataException e) { throw new DataException(SourceLocation.WholeFile(path), $"corrupt or truncated gzip stream ({e.Message})"); }
            bytes = ms.ToArray();
        }
        var records = new List<RawRecord>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        long line = 1, counted = 0;
        try
        {
            if (!reader.Read()) throw new DataException(SourceLocation.WholeFile(path), "file is empty");
            if (reader.TokenType != JsonTokenType.StartArray) throw new DataException(new SourceLocation(path, 1), "expected a JSON array of records");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                long start = reader.TokenStartIndex;
                line += bytes.AsSpan((int)counted, (int)(start - counted)).Count((byte)'\n');
                counted = start;
                var where = new SourceLocation(path, line);
                var node = JsonNode.Parse(ref reader);
                records.Add(JsonLinesRecordReader.Record(node, where));
            }
        }
        catch (JsonException e)
        {
            throw new DataException(new SourceLocation(path, (e.LineNumber ?? 0) + 1), $"invalid JSON array ({JsonLinesRecordReader.FirstSentence(e.Message)})");
        }
        return records;
    }
}
