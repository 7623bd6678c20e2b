using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using AlignSharp.Tests.Training;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>
/// The token-level structure of each record format reaches the tokens: parts aligned with the completion tokens,
/// the values each objective requests (turn ids, segment masks, prefix lengths, diff masks, label masks), the
/// tokenized-data cache keeping them, and a record that cannot give an input reported with its file and line.
/// </summary>
public sealed class TokenAnnotationTests
{
    private static readonly ByteTokenizer Bytes = new();

    private static double[] Row(torch.Tensor t, int row) =>
        [.. t[row].to(torch.ScalarType.Float64).data<double>()];

    [Fact]
    public void Trajectory_tokens_carry_their_agent_turn_and_other_turns_are_not_labels()
    {
        var pair = TokenLevelFormatTrainingTests.Load("trajectory", 1)[0];
        var parts = pair.Example.Annotations!.Chosen!;
        // Each token belongs to the part whose text it starts in; the appended EOS to the last turn.
        var expected = parts.SelectMany((p, k) => Enumerable.Repeat(k, Bytes.Encode(p.Text).Count)).Append(parts.Count - 1);
        Assert.Equal(expected, pair.ChosenParts!);
        int width = pair.Chosen.Length + 2;
        var ids = CompletionAnnotations.Of(Dmpo.TurnIds, [pair], width, torch.ScalarType.Float64, torch.CPU);
        var labels = CompletionAnnotations.LabelMask([pair], width, torch.ScalarType.Float64, torch.CPU);
        var turnIds = Row(ids.Chosen, 0);
        var label = Row(labels, 0);
        for (int t = 0; t < pair.Chosen.Length; t++)
        {
            var part = parts[pair.ChosenParts![t]];
            Assert.Equal(part.Kind == PartKind.AgentTurn ? part.Index : -1, turnIds[t]);
            Assert.Equal(part.IsLabel ? 1 : 0, label[t]);
        }
        Assert.Equal([-1.0, -1.0], turnIds[pair.Chosen.Length..]); // padding
        Assert.Equal([0.0, 0.0], label[pair.Chosen.Length..]);
        var turns = CompletionAnnotations.Of(Dmpo.NumTurns, [pair], width, torch.ScalarType.Float64, torch.CPU);
        Assert.Equal(pair.Example.Annotations.AgentTurns.Chosen, turns.Chosen.item<double>());
    }

    [Fact]
    public void Segment_masks_cover_the_agent_turns_of_the_key_segment_only()
    {
        var pair = TokenLevelFormatTrainingTests.Load("segment", 1)[0];
        var parts = pair.Example.Annotations!.Rejected!;
        var seg = CompletionAnnotations.Of(Sdpo.SegmentMask, [pair], pair.Rejected.Length, torch.ScalarType.Float64,
            torch.CPU);
        var mask = Row(seg.Rejected, 0);
        for (int t = 0; t < pair.Rejected.Length; t++)
        {
            var part = parts[pair.RejectedParts![t]];
            Assert.Equal(part.InSegment && part.Kind == PartKind.AgentTurn ? 1 : 0, mask[t]);
        }
        Assert.Contains(1.0, mask);
        Assert.Contains(0.0, mask);
    }

    [Fact]
    public void Plain_pairs_are_one_turn_one_segment_and_no_prefix_so_the_objectives_reduce_to_dpo()
    {
        var pair = TinyRun.Pairs(1)[0];
        int width = Math.Max(pair.Chosen.Length, pair.Rejected.Length);
        Assert.Equal(0, CompletionAnnotations.Of(Scdpo.PrefixLengths, [pair], width, torch.ScalarType.Float64,
            torch.CPU).Chosen.item<double>());
        Assert.Equal(1, CompletionAnnotations.Of(Dmpo.NumTurns, [pair], width, torch.ScalarType.Float64,
            torch.CPU).Rejected.item<double>());
        var seg = CompletionAnnotations.Of(Sdpo.SegmentMask, [pair], width, torch.ScalarType.Float64, torch.CPU);
        Assert.Equal(pair.Chosen.Length, Row(seg.Chosen, 0).Sum());
    }

    [Fact]
    public void Step_records_keep_the_prefix_in_the_prompt_so_scdpo_counts_every_completion_token()
    {
        var pair = TokenLevelFormatTrainingTests.Load("steps", 1)[0];
        Assert.Equal(1, pair.Example.Annotations!.PrefixSteps);
        var p = CompletionAnnotations.Of(Scdpo.PrefixLengths, [pair], pair.Chosen.Length, torch.ScalarType.Float64,
            torch.CPU);
        Assert.Equal((0.0, 0.0), (p.Chosen.item<double>(), p.Rejected.item<double>()));
        Assert.Equal(2, pair.ChosenParts!.Distinct().Count()); // two steps, each token in one
    }

    [Theory]
    // Expected opcodes from Python 3's difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes().
    [InlineData(new[] { 1, 2, 3, 4, 5 }, new[] { 1, 2, 9, 4, 5, 6 }, "e0202 r2323 e3535 i5556")]
    [InlineData(new[] { 5, 1, 2, 3 }, new[] { 1, 2, 3, 5 }, "d0100 e1403 i4434")]
    [InlineData(new[] { 1, 1, 2, 2, 3 }, new[] { 2, 1, 1, 3, 3, 2 }, "i0001 e0213 i2235 e2356 d3566")]
    [InlineData(new int[0], new[] { 1, 2 }, "i0002")]
    [InlineData(new[] { 7, 8, 9 }, new int[0], "d0300")]
    public void Edit_diff_opcodes_match_difflib(int[] a, int[] b, string expected)
    {
        var ops = EditDiff.Opcodes(a, b).Select(o => $"{(o.Tag == 'e' ? 'e' : o.Tag)}{o.I1}{o.I2}{o.J1}{o.J2}");
        Assert.Equal(expected, string.Join(" ", ops));
    }

    [Fact]
    public void Edit_records_mark_the_changed_tokens_and_not_stopwords()
    {
        Assert.Equal(179, EditDiff.StopwordCount);
        var pair = TokenLevelFormatTrainingTests.Load("edit", 1)[0]; // "the sum is 5, done" vs "the sum is 14, done"
        string Changed(int[] ids, int[] diff) => Bytes.Decode(ids.Where((_, i) => diff[i] == 1));
        Assert.Equal("5", Changed(pair.Chosen, pair.ChosenDiff!));
        Assert.Equal("14", Changed(pair.Rejected, pair.RejectedDiff!));
        var words = new WordTokenizer(["the", "The", "sum", "is", "five", "four"]);
        var (dc, dr) = EditDiff.Masks(words, [0, 2, 4], [1, 2, 5]); // "the sum five" vs "The sum four"
        Assert.Equal([0, 0, 1], dc); // "the" -> "The" is a replacement of a stopword: not marked
        Assert.Equal([0, 0, 1], dr);
    }

    [Fact]
    public void The_tokenized_cache_keeps_parts_diff_masks_and_refined_prompts()
    {
        foreach (var format in new[] { "trajectory", "edit", "refinement" })
        {
            string path = Path.Combine(TestTemp.Dir("tl-cache"), format + ".jsonl");
            File.WriteAllLines(path, Enumerable.Range(0, 3).Select(i => TokenLevelFormatTrainingTests.Record(format, i)));
            string cache = TestTemp.Dir("tl-cache-root");
            var options = new DataOptions { Format = DataFormats.Parse(format) };
            var first = TokenizedData.Load(path, Bytes, TokenizationOptions.WithHalfPrompt(96), options, cache);
            var second = TokenizedData.Load(path, Bytes, TokenizationOptions.WithHalfPrompt(96), options, cache);
            Assert.True(second.FromCache);
            foreach (var (a, b) in first.Pairs.Zip(second.Pairs))
            {
                Assert.Equal(a.ChosenParts, b.ChosenParts);
                Assert.Equal(a.RejectedParts, b.RejectedParts);
                Assert.Equal(a.ChosenDiff, b.ChosenDiff);
                Assert.Equal(a.RejectedDiff, b.RejectedDiff);
                Assert.Equal(a.RefinedPrompt, b.RefinedPrompt);
                var (x, y) = (a.Example.Annotations!, b.Example.Annotations!);
                Assert.Equal((x.PrefixSteps, x.RefinementPrompt, x.Edit), (y.PrefixSteps, y.RefinementPrompt, y.Edit));
                Assert.Equal(x.Rejected, y.Rejected);
                Assert.Equal(a.Example.Annotations?.Chosen, b.Example.Annotations?.Chosen);
            }
        }
    }

    [Theory]
    [InlineData("bmc", "", "diff_mask")]
    [InlineData("sr_dpo", "lambda=0.3", "refinement prompt")]
    public void Plain_records_for_an_objective_that_needs_annotations_are_reported_by_file_and_line(
        string id, string parameters, string what)
    {
        var values = parameters.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('='))
            .ToDictionary(kv => kv[0], kv => kv[1]);
        string path = Path.Combine(TestTemp.Dir("tl-plain"), "pairs.jsonl");
        File.WriteAllLines(path, ["""{"prompt": "2+3=", "chosen": "5", "rejected": "6"}"""]);
        var pairs = TokenizedData.Load(path, Bytes, TokenizationOptions.WithHalfPrompt(64)).Pairs.ToList();
        using var reference = new FrozenReference(TokenLevelFormatTrainingTests.ByteModel(1));
        var setup = new TrainingSetup(TokenLevelFormatTrainingTests.ByteModel(1), reference,
            ObjectiveCatalog.Create(id, new ObjectiveParams(values)), pairs, [], ByteTokenizer.Pad);
        var options = new TrainingOptions { MaxSteps = 1, BatchSize = 1, SaveTotalLimit = 1 };
        var e = Assert.Throws<DataException>(
            () => new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.StartsWith($"{path}:1: objective '{id}' needs", e.Message);
        Assert.Contains(what, e.Message);
    }

    /// <summary>A tokenizer of whole words, for stopword checks.</summary>
    private sealed class WordTokenizer(string[] words) : ITokenizer
    {
        public int VocabSize => words.Length;
        public int? BosId => null;
        public int? EosId => null;
        public int? PadId => null;
        public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false) =>
            [.. text.Split(' ').Select(w => Array.IndexOf(words, w))];
        public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) =>
            string.Join(" ", ids.Select(i => words[i]));
    }
}
