using System.Text.Json;

namespace AlignSharp.Cli.Commands;

/// <summary>One prompt/completion record and its 1-based line number.</summary>
internal sealed record PromptCompletion(int Line, string Prompt, string Completion);

/// <summary>Reads JSONL records with string fields "prompt" and "completion"; blank lines are skipped, anything else wrong is an error naming the line.</summary>
internal static class PromptCompletionJsonl
{
    public static List<PromptCompletion> Read(string path)
    {
        if (!File.Exists(path)) throw new AlignSharpException($"{path}: file not found");
        var result = new List<PromptCompletion>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonElement root;
            try
            {
                using var doc = JsonDocument.Parse(text);
                root = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new AlignSharpException($"{path}:{line}: not valid JSON ({e.Message})");
            }
            string Field(string name) =>
                root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                    ? v.GetString()!
                    : throw new AlignSharpException($"{path}:{line}: missing string field '{name}'");
            result.Add(new PromptCompletion(line, Field("prompt"), Field("completion")));
        }
        if (result.Count == 0) throw new AlignSharpException($"{path}: no records");
        return result;
    }
}
