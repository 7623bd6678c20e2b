using AlignSharp.Tokenization.ChatTemplates;
using Xunit.Sdk;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>Every case of golden/templates/cases.json (Jinja2 3.1.2 renderings of 12 real templates), character for character.</summary>
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
    public void Golden_file_has_the_documented_size_and_environment()
    {
        var data = GoldenCases.Get();
        Assert.Equal(12, data.Templates.Count);
        Assert.Equal(125, data.Templates.Values.Sum(t => t.Cases.Count));
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
