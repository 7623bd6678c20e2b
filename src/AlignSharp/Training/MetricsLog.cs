using System.Text.Json;
using AlignSharp.IO;

namespace AlignSharp.Training;

/// <summary>Appends metrics as JSON lines (one object per log step), the file TRL users grep and plot.</summary>
public static class MetricsLog
{
    private static readonly JsonWriterOptions Options = new()
    {
        // Metric names are ours or an objective's; keep non-ASCII names readable while escaping what JSON requires.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Appends one line written by a JSON writer (any metric name is escaped); keys in insertion order, numbers in
    /// round-trip format, non-finite values as <c>null</c>.
    /// </summary>
    public static void Append(string path, IReadOnlyDictionary<string, double> metrics)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(Line(metrics));
    }

    /// <summary>
    /// Keeps the lines of steps up to <paramref name="step"/> (a resumed run redoes the later ones) and drops lines
    /// that are not complete JSON objects (torn by a crash); rewrites the file atomically. No file: nothing to do.
    /// </summary>
    public static void CutAfter(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadAllLines(path).Where(line =>
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                return doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("step", out var s) && s.TryGetDouble(out var n) && n <= step;
            }
            catch (JsonException) { return false; }
        });
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>One JSON object followed by a newline, as UTF-8 bytes.</summary>
    public static byte[] Line(IReadOnlyDictionary<string, double> metrics)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            foreach (var (k, v) in metrics)
            {
                if (double.IsFinite(v)) w.WriteNumber(k, v);
                else w.WriteNull(k);
            }
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
