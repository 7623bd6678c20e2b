using System.Text.Json.Nodes;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>golden/templates/cases.json, loaded and parsed once: each template compiled once, cases looked up by id.</summary>
internal static class GoldenCases
{
    private static readonly Lazy<GoldenData> Data = new(Load);

    internal sealed record GoldenTemplate(string Id, ChatTemplate Template, JsonObject SpecialTokens, Dictionary<string, JsonObject> Cases);

    internal sealed record GoldenData(JsonObject Root, Dictionary<string, GoldenTemplate> Templates);

    public static string FilePath => Path.Combine(TestSetup.Shared, "golden", "templates", "cases.json");

    public static GoldenData Get() => Data.Value;

    /// <summary>(template id, case name) of every case, in file order.</summary>
    public static IEnumerable<(string TemplateId, string CaseName)> AllCaseIds()
    {
        var root = JsonNode.Parse(File.ReadAllText(FilePath))!.AsObject();
        foreach (var t in root["templates"]!.AsArray())
        {
            foreach (var c in t!["cases"]!.AsArray()) yield return ((string)t["id"]!, (string)c!["name"]!);
        }
    }

    private static GoldenData Load()
    {
        var root = JsonNode.Parse(File.ReadAllText(FilePath))!.AsObject();
        var templates = new Dictionary<string, GoldenTemplate>();
        foreach (var t in root["templates"]!.AsArray())
        {
            var id = (string)t!["id"]!;
            var tokens = t["special_tokens"]!.AsObject();
            var cases = t["cases"]!.AsArray().ToDictionary(c => (string)c!["name"]!, c => c!.AsObject());
            templates[id] = new GoldenTemplate(id, ChatTemplate.Parse((string)t["template"]!, tokens), tokens, cases);
        }
        return new GoldenData(root, templates);
    }

    /// <summary>The case's variables as the README describes: messages, tools (absent = None), add_generation_prompt, extra.</summary>
    public static ChatTemplateInput InputFor(JsonObject c) => new((JsonArray)c["messages"]!.DeepClone())
    {
        AddGenerationPrompt = (bool)c["add_generation_prompt"]!,
        Tools = c["tools"]?.DeepClone() as JsonArray,
        Extra = c["extra"]?.DeepClone() as JsonObject,
    };

    /// <summary>A readable description of where two strings first differ.</summary>
    public static string Diff(string expected, string actual)
    {
        var i = 0;
        while (i < expected.Length && i < actual.Length && expected[i] == actual[i]) i++;
        static string Window(string s, int at) =>
            System.Text.Json.JsonSerializer.Serialize(s[Math.Max(0, at - 40)..Math.Min(s.Length, at + 40)]);
        return $"first difference at index {i} (expected length {expected.Length}, actual length {actual.Length})\n" +
               $"  expected: ...{Window(expected, i)}...\n" +
               $"  actual:   ...{Window(actual, i)}...";
    }
}
