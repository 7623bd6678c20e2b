using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;

namespace AlignSharp.Tests.Data;

/// <summary>The token-level record formats: good records carry their structure, bad ones are reported with file:line.</summary>
public sealed class TokenLevelFormatTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), $"tl-formats-{Guid.NewGuid():N}");

    public TokenLevelFormatTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (LoadedData Data, string Path) Load(string name, DataFormat format, params string[] lines)
    {
        string path = Path.Combine(dir, name + ".jsonl");
        File.WriteAllLines(path, lines);
        return (PreferenceDataLoader.Load(path, new DataOptions { Format = format }), path);
    }

    private static void Reported(LoadedData data, string path, int line, RecordIssue issue, string detail)
    {
        var problems = data.Report.Examples.GetValueOrDefault(issue) ?? [];
        Assert.True(problems.Any(p => p.Where.ToString() == $"{path}:{line}" && p.Detail.Contains(detail)),
            $"expected {path}:{line} {issue.Name()} '{detail}'; report:\n{data.Report.ToText()}");
    }

    [Fact]
    public void Steps_records_append_the_prefix_to_the_prompt_and_report_bad_steps()
    {
        var (data, path) = Load("steps", DataFormat.Auto,
            """{"prompt": "Q: 2+3*4?\n", "prefix_steps": ["Step 1: 3*4 = 12."], "chosen": "Step 2: 2+12 = 14.", "rejected": "Step 2: 2+12 = 15."}""",
            """{"prompt": "Q", "prefix_steps": ["Step 1: a", ""], "chosen": "b", "rejected": "c"}""",
            """{"prompt": "Q", "prefix_steps": [], "chosen": [], "rejected": "c"}""",
            """{"prompt": "Q", "initial_reason_steps": "Step 1: x\n", "chosen": "Step 2: y", "rejected": "Step 2: z"}""");
        Assert.Equal(DataFormat.Steps, data.Format);
        Assert.Equal(2, data.Pairs.Count);
        var e = data.Pairs[0];
        Assert.Equal("Q: 2+3*4?\nStep 1: 3*4 = 12.\n", e.Prompt);
        Assert.Equal("Step 2: 2+12 = 14.", e.Chosen);
        Assert.Equal(1, e.Annotations!.PrefixSteps);
        Assert.Equal(1, e.Annotations.Chosen![0].Index);
        Reported(data, path, 2, RecordIssue.InvalidAnnotation, "prefix_steps[1] must be a non-empty step text");
        Reported(data, path, 3, RecordIssue.EmptyCompletion, "'chosen' has no step");
    }

    [Fact]
    public void Trajectories_number_the_agent_turns_and_report_bad_ones()
    {
        var (data, path) = Load("traj", DataFormat.Auto,
            """{"task": "Find the key.", "chosen": [{"role": "assistant", "content": "go north"}, {"role": "user", "content": "a door"}, {"role": "assistant", "content": "open door"}], "rejected": [{"role": "assistant", "content": "go south"}]}""",
            """{"task": "Find the key.", "chosen": [{"role": "user", "content": "hi"}], "rejected": [{"role": "assistant", "content": "x"}]}""",
            """{"task": "Find the key.", "chosen": [{"role": "assistant"}], "rejected": [{"role": "assistant", "content": "x"}]}""");
        Assert.Equal(DataFormat.Trajectory, data.Format);
        var a = Assert.Single(data.Pairs).Annotations!;
        Assert.Equal((2, 1), a.AgentTurns);
        Assert.Equal([PartKind.AgentTurn, PartKind.OtherTurn, PartKind.AgentTurn], a.Chosen!.Select(p => p.Kind));
        Assert.Equal(data.Pairs[0].Chosen, string.Concat(a.Chosen!.Select(p => p.Text)));
        Reported(data, path, 2, RecordIssue.InvalidAnnotation, "first turn of 'chosen' must be the agent's");
        Reported(data, path, 3, RecordIssue.MissingField, "has no 'content'");
    }

    [Fact]
    public void Segments_mark_the_key_turns_truncate_after_them_and_report_a_bad_range()
    {
        const string turns = """[{"role": "assistant", "content": "A1"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A2"}, {"role": "user", "content": "late"}]""";
        var (data, path) = Load("seg", DataFormat.Auto,
            $$"""{"history": [{"role": "user", "content": "hello"}], "chosen": {{turns}}, "rejected": [{"role": "assistant", "content": "B1"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "B2"}], "segment": [0, 2]}""",
            $$"""{"history": [{"role": "user", "content": "hello"}], "chosen": {{turns}}, "rejected": [{"role": "assistant", "content": "B1"}], "segment": [1, 9]}""",
            $$"""{"history": [{"role": "user", "content": "hello"}], "chosen": {{turns}}, "rejected": [{"role": "assistant", "content": "B1"}], "segment": "all"}""");
        Assert.Equal(DataFormat.Segment, data.Format);
        var parts = Assert.Single(data.Pairs).Annotations!.Chosen!;
        Assert.Equal(3, parts.Count); // the turn after the segment is cut
        Assert.All(parts, p => Assert.True(p.InSegment));
        Assert.DoesNotContain("late", data.Pairs[0].Chosen);
        Reported(data, path, 2, RecordIssue.InvalidAnnotation, "segment [1, 9] is not within the 4 turns");
        Reported(data, path, 3, RecordIssue.WrongType, "'segment' must be [start, end]");
    }

    [Fact]
    public void Trees_sort_best_first_clip_steps_to_the_shortest_and_report_bad_ones()
    {
        var (data, path) = Load("tree", DataFormat.Auto,
            """{"prompt": "Q", "responses": [["s1", "s2", "s3"], ["t1", "t2"]], "scores": [0.2, 0.9]}""",
            """{"prompt": "Q", "responses": [["s1"], ["t1"]], "scores": [1, 1]}""",
            """{"prompt": "Q", "responses": [["s1"], []], "scores": [1, 0]}""",
            """{"prompt": "Q", "responses": [["s1"], ["t1"]], "scores": [1]}""");
        Assert.Equal(DataFormat.Tree, data.Format);
        var t = Assert.Single(data.Trees);
        Assert.Equal([0.9, 0.2], t.Scores);
        Assert.Equal(["t1\n", "t2"], t.Steps[0]);
        Assert.Equal(["s1\n", "s2\ns3"], t.Steps[1]); // trailing steps merged into step K = 2
        Reported(data, path, 2, RecordIssue.NoRankedPair, "same score");
        Reported(data, path, 3, RecordIssue.InvalidAnnotation, "responses[1] must be a non-empty list of steps");
        Reported(data, path, 4, RecordIssue.WrongType, "'scores' has 1");
    }

    [Fact]
    public void Scored_samples_become_first_and_second_with_their_rewards_and_bad_ones_are_reported()
    {
        var (data, path) = Load("scored", DataFormat.Auto,
            """{"prompt": "P", "samples": [{"text": "a", "reward": 0.5}, {"text": "b", "reward": 0.9}]}""",
            """{"prompt": "P", "samples": [{"text": "a", "reward": 0.5}]}""",
            """{"prompt": "P", "samples": [{"text": "a", "reward": "high"}, {"text": "b", "reward": 1}]}""");
        Assert.Equal(DataFormat.Scored, data.Format);
        var e = Assert.Single(data.Pairs);
        Assert.Equal(("a", "b"), (e.Chosen, e.Rejected));
        Assert.Equal((0.5, 0.9), (e.Extras["chosen_score"], e.Extras["rejected_score"]));
        Reported(data, path, 2, RecordIssue.InvalidAnnotation, "exactly two");
        Reported(data, path, 3, RecordIssue.WrongType, "samples[0].reward must be a finite number");
    }

    [Fact]
    public void Refinement_and_edit_pairs_carry_their_annotation_and_bad_ones_are_reported()
    {
        var (data, path) = Load("refine", DataFormat.Auto,
            """{"prompt": "P", "chosen": "a", "rejected": "b", "refinement_prompt": "Be excellent. Query:"}""",
            """{"prompt": "P", "chosen": "a", "rejected": "b", "refinement_prompt": 3}""");
        Assert.Equal(DataFormat.Refinement, data.Format);
        Assert.Equal("Be excellent. Query:", Assert.Single(data.Pairs).Annotations!.RefinementPrompt);
        Reported(data, path, 2, RecordIssue.WrongType, "'refinement_prompt' must be a string");

        var (edits, editPath) = Load("edit", DataFormat.Edit,
            """{"prompt": "P", "chosen": "The cat sat.", "rejected": "The dog sat."}""",
            """{"prompt": "P", "chosen": "same", "rejected": "same"}""");
        Assert.True(Assert.Single(edits.Pairs).Annotations!.Edit);
        Reported(edits, editPath, 2, RecordIssue.IdenticalCompletions, "identical");
    }
}
