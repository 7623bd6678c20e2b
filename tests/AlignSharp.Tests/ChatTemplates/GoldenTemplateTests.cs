using AlignSharp.Tokenization.ChatTemplates;
using Xunit.Sdk;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>Every case of golden/templates/cases.json (Jinja2 3.1.2 renderings of real templates), character for character.</summary>
public sealed class GoldenTemplateTests
{
    /// <summary>The fixed date the golden renderings were made with (strftime_now).</summary>
    private static readonly FixedClock Clock = new(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (t, c) in GoldenCases.AllCaseIds()) data.Add(t, c);
        return data;
    }

    [Fact]
    public void Golden_file_loads_every_template_and_case_and_has_the_documented_environment()
    {
        // Counts come from the file itself (a regenerated file with other templates or fewer cases must still pass):
        // every template and case in the JSON is loaded, ids are unique and no template is empty.
        var data = GoldenCases.Get();
        var raw = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(GoldenCases.FilePath))!["templates"]!.AsArray();
        Assert.NotEmpty(raw);
        Assert.Equal(raw.Count, data.Templates.Count);
        Assert.Equal(raw.Sum(t => t!["cases"]!.AsArray().Count), data.Templates.Values.Sum(t => t.Cases.Count));
        Assert.All(data.Templates.Values, t => Assert.NotEmpty(t.Cases));
        // The renderer hard-wires Hugging Face's environment; make sure the golden file was made with it.
        var env = (string)data.Root["env"]!;
        Assert.Contains("trim_blocks=True", env);
        Assert.Contains("lstrip_blocks=True", env);
        Assert.Contains("keep_trailing_newline=False", env);
        Assert.Contains("ensure_ascii=False", env);
        Assert.Equal("2026-11-26", (string)data.Root["fixed_date"]!);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_golden_case(string templateId, string caseName)
    {
        var template = GoldenCases.Get().Templates[templateId];
        var c = template.Cases[caseName];
        var input = GoldenCases.InputFor(c);
        if (c["expected_error"] is { } expectedError)
        {
            var ex = Assert.Throws<ChatTemplateRaisedException>(() => template.Template.Render(input, Clock));
            Assert.Equal((string)expectedError!, ex.Message);
            return;
        }
        var expected = (string)c["expected"]!;
        var actual = template.Template.Render(input, Clock);
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
            throw new XunitException($"{templateId}/{caseName}: rendering differs from Jinja2\n{GoldenCases.Diff(expected, actual)}");
    }
}

/// <summary>A clock stopped at one instant (local time = that instant's wall-clock time).</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
