using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace AlignSharp.Data;

/// <summary>
/// Reads JSONL records with string fields <c>prompt</c>, <c>chosen</c>, <c>rejected</c> (plain or .gz).
/// A malformed line is an error naming the file and line; numeric columns other than the three texts are kept as extras.
/// </summary>
public static class JsonlPreferenceReader
{
    /// <summary>Reads every record of <paramref name="path"/>.</summary>
    public static IEnumerable<PreferenceExample> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {path}", path);
        using var stream = OpenText(path);
        long lineNo = 0;
        while (stream.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return Parse(line, new SourceLocation(path, lineNo));
        }
    }

    /// <summary>Opens a text file, decompressing .gz; invalid UTF-8 throws instead of being replaced.</summary>
    public static StreamReader OpenText(string path)
    {
        Stream s = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) s = new GZipStream(s, CompressionMode.Decompress);
        return new StreamReader(s, new UTF8Encoding(false, throwOnInvalidBytes: true));
    }

    /// <summary>Parses one JSONL line.</summary>
    public static PreferenceExample Parse(string line, SourceLocation where)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { throw new DataException(where, $"invalid JSON ({e.Message.Split('.')[0]})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new DataException(where, "record is not a JSON object");
            string Field(string name) =>
                doc.RootElement.TryGetProperty(name, out var v)
                    ? v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new DataException(where, $"field '{name}' must be a string, got {v.ValueKind.ToString().ToLowerInvariant()}")
                    : throw new DataException(where, $"missing field '{name}'");
            var extras = new Dictionary<string, double>();
            foreach (var p in doc.RootElement.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.Number) extras[p.Name] = p.Value.GetDouble();
            return new PreferenceExample(Field("prompt"), Field("chosen"), Field("rejected"), where) { Extras = extras };
        }
    }
}
