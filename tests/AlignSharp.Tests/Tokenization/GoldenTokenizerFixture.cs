using System.Collections.Concurrent;
using System.Text.Json;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Tokenization;

/// <summary>The golden cases (shared/golden/tokenizers/cases.json) and each tokenizer, loaded once per test class.</summary>
public sealed class GoldenTokenizerFixture
{
    private readonly ConcurrentDictionary<string, HfTokenizer> _tokenizers = new();

    internal static string GoldenDir => Path.Combine(TestSetup.Shared, "golden", "tokenizers");

    internal static IReadOnlyList<GoldenTokenizer> All { get; } = Load();

    public HfTokenizer Tokenizer(string name) =>
        _tokenizers.GetOrAdd(name, n => HfTokenizer.FromFolder(Path.Combine(GoldenDir, n)));

    internal static GoldenTokenizer Get(string name) => All.Single(t => t.Name == name);

    private static List<GoldenTokenizer> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(GoldenDir, "cases.json")));
        var result = new List<GoldenTokenizer>();
        foreach (var t in doc.RootElement.GetProperty("tokenizers").EnumerateArray())
        {
            var files = t.GetProperty("files").EnumerateObject()
                .ToDictionary(f => f.Name, f => f.Value.GetProperty("sha256").GetString()!);
            var cases = t.GetProperty("cases").EnumerateArray().Select(c => new GoldenCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("text").GetString()!,
                Ints(c.GetProperty("ids")),
                c.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray(),
                Ints(c.GetProperty("ids_with_special_tokens")),
                c.GetProperty("decoded").GetString()!,
                c.GetProperty("decoded_with_special_tokens").GetString()!,
                c.GetProperty("decoded_skip_special_tokens").GetString()!)).ToList();
            result.Add(new GoldenTokenizer(t.GetProperty("name").GetString()!, files, cases));
        }
        return result;
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}

internal sealed record GoldenTokenizer(string Name, Dictionary<string, string> Sha256, List<GoldenCase> Cases);

internal sealed record GoldenCase(string Name, string Text, int[] Ids, string[] Tokens, int[] IdsWithSpecialTokens,
    string Decoded, string DecodedWithSpecialTokens, string DecodedSkipSpecialTokens);
