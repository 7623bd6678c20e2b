using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AlignSharp.IO;

namespace AlignSharp.Data;

/// <summary>
/// Writes preference examples as JSONL (<c>prompt</c>, <c>chosen</c>, <c>rejected</c>, then numeric extras), the format
/// <see cref="JsonlPreferenceReader"/> reads. The file is written to a temporary name and renamed, so a crash never
/// leaves a half-written file under the final name.
/// </summary>
public static class PreferenceJsonlWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="examples"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IEnumerable<PreferenceExample> examples) => AtomicFile.WriteStream(path, stream =>
    {
        foreach (var e in examples)
        {
            using (var json = new Utf8JsonWriter(stream, Options))
            {
                json.WriteStartObject();
                json.WriteString("prompt", e.Prompt);
                json.WriteString("chosen", e.Chosen);
                json.WriteString("rejected", e.Rejected);
                foreach (var (key, value) in e.Extras) json.WriteNumber(key, value);
                json.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        }
    });
}
