using System.Collections;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace AlignSharp.Data.Sources;

/// <summary>
/// Reads a Parquet file (as Hugging Face stores data sets) with Parquet.Net's untyped deserializer and turns each row
/// into the same JSON object shape the JSON readers produce: strings, numbers, booleans, lists (e.g. of
/// <c>{role, content}</c> structs) and nested objects. Null cells become absent fields. Rows are numbered from 1.
/// </summary>
public static class ParquetRecordReader
{
    /// <summary>Reads every row of <paramref name="path"/>.</summary>
    public static IReadOnlyList<RawRecord> Read(string path)
    {
        if (!File.Exists(path)) throw new DataException(SourceLocation.WholeFile(path), "data file not found");
        IList<Dictionary<string, object>> rows;
        try
        {
            using var fs = File.OpenRead(path);
            rows = ParquetSerializer.DeserializeUntypedAsync(fs).GetAwaiter().GetResult().Data;
        }
        // A corrupt file can surface as many exception types from deep inside the reader; all mean the same to the user.
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DataException(SourceLocation.WholeFile(path), $"not a readable Parquet file ({e.Message})");
        }
        var records = new List<RawRecord>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
            records.Add(RawRecord.Ok(new SourceLocation(path, i + 1) { IsRow = true }, (JsonObject)ToNode(rows[i])!));
        return records;
    }

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        ReadOnlyMemory<char> m => JsonValue.Create(m.ToString()),
        bool b => JsonValue.Create(b),
        byte[] bytes => JsonValue.Create(Convert.ToBase64String(bytes)),
        sbyte or byte or short or ushort or int or uint or long or ulong => JsonValue.Create(Convert.ToInt64(value)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value)),
        IDictionary d => Object(d),
        IEnumerable e => new JsonArray(e.Cast<object?>().Select(ToNode).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };

    private static JsonObject Object(IDictionary d)
    {
        var o = new JsonObject();
        foreach (DictionaryEntry kv in d)
            if (ToNode(kv.Value) is { } v) o[(string)kv.Key] = v;
        return o;
    }
}
