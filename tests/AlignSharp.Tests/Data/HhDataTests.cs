using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;

namespace AlignSharp.Tests.Data;

/// <summary>Loads the shared HH file once for the class.</summary>
public sealed class HhFixture
{
    public LoadedData Data { get; } = PreferenceDataLoader.Load(Hh.Path, new DataOptions { ExamplesPerIssue = 100 });
}

public sealed class HhDataTests(HhFixture hh) : IClassFixture<HhFixture>
{
    [Fact]
    public void Loads_directly_from_gz_as_implicit_prompt_data()
    {
        Assert.Equal(DataFormat.Implicit, hh.Data.Format);
        Assert.Equal(Hh.Lines, hh.Data.Report.RecordsRead);
    }

    [Fact]
    public void Every_record_is_used_or_reported_with_its_line_and_reason()
    {
        var r = hh.Data.Report;
        Assert.Equal(r.RecordsRead, r.RecordsUsed + r.RecordsReported);
        Assert.Equal(r.RecordsUsed, hh.Data.Pairs.Count);
        var lines = hh.Data.Pairs.Select(p => p.Source.Line).Concat(r.Examples.Values.SelectMany(v => v).Select(p => p.Where.Line)).Order();
        // With 100 examples kept per issue every problem is listed: every line of the file is covered exactly once.
        Assert.True(r.Counts.Values.All(c => c <= r.ExamplesPerIssue));
        Assert.Equal(Enumerable.Range(1, Hh.Lines).Select(i => (long)i), lines);
        // What this file holds: four dialogues whose chosen answer is an empty assistant turn.
        Assert.Equal(new Dictionary<RecordIssue, int> { [RecordIssue.EmptyCompletion] = 4 }, r.Counts);
        Assert.Equal([87L, 517L, 926L, 1104L], r.Examples[RecordIssue.EmptyCompletion].Select(p => p.Where.Line));
    }

    [Fact]
    public void Recovered_prompts_end_with_the_assistant_turn_and_completions_do_not_repeat_it()
    {
        Assert.All(hh.Data.Pairs, p =>
        {
            Assert.EndsWith("\n\nAssistant:", p.Prompt);
            Assert.StartsWith("\n\nHuman:", p.Prompt);
            Assert.NotEqual(p.Chosen, p.Rejected);
            Assert.False(string.IsNullOrWhiteSpace(p.Chosen));
            Assert.False(string.IsNullOrWhiteSpace(p.Rejected));
        });
    }
}
