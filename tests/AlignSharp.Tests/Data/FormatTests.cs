using AlignSharp.Data;
using AlignSharp.Data.Chat;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;

namespace AlignSharp.Tests.Data;

public sealed class FormatTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Explicit_jsonl_keeps_unicode_text_exactly_and_maps_score_extras()
    {
        var path = _dir.File("explicit.jsonl",
            """
            {"prompt": "Traduis «bonjour» 🙂", "chosen": " 你好 — مرحبا", "rejected": " hello", "score_chosen": 8.5, "score_rejected": 3, "source": "x"}
            {"prompt": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢?", "chosen": "yes\u0000", "rejected": "no"}
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal(DataFormat.Explicit, data.Format);
        Assert.Equal(2, data.Pairs.Count);
        var first = data.Pairs[0];
        Assert.Equal(("Traduis «bonjour» 🙂", " 你好 — مرحبا", " hello"), (first.Prompt, first.Chosen, first.Rejected));
        Assert.Equal(8.5, first.Extras["chosen_score"]);
        Assert.Equal(3.0, first.Extras["rejected_score"]);
        Assert.False(first.Extras.ContainsKey("source"));
        Assert.Equal(new SourceLocation(path, 2), data.Pairs[1].Source);
        Assert.Equal("𝔘𝔫𝔦𝔠𝔬𝔡𝔢?", data.Pairs[1].Prompt);
        Assert.Equal("yes\0", data.Pairs[1].Chosen);
    }

    [Fact]
    public void Implicit_hh_dialogue_is_cut_after_the_last_shared_assistant_turn()
    {
        var path = _dir.File("hh.jsonl",
            """
            {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke\n\nAssistant: Why did the chicken cross the road?", "rejected": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke\n\nAssistant: No."}
            {"chosen": "\n\nHuman: Où est la gare ?\n\nAssistant: Tout droit.", "rejected": "\n\nHuman: Où est la gare ?\n\nAssistant: Tout droit, puis à gauche."}
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal(DataFormat.Implicit, data.Format);
        Assert.Equal("\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke\n\nAssistant:", data.Pairs[0].Prompt);
        Assert.Equal(" Why did the chicken cross the road?", data.Pairs[0].Chosen);
        Assert.Equal(" No.", data.Pairs[0].Rejected);
        // The shared prefix runs into the answers ("Tout droit"), but the cut is at the turn marker.
        Assert.Equal("\n\nHuman: Où est la gare ?\n\nAssistant:", data.Pairs[1].Prompt);
        Assert.Equal(" Tout droit.", data.Pairs[1].Chosen);
        Assert.Equal(" Tout droit, puis à gauche.", data.Pairs[1].Rejected);
    }

    [Fact]
    public void Implicit_without_turn_markers_uses_the_longest_common_prefix_leaving_the_space_to_completions()
    {
        var path = _dir.File("lcp.jsonl", """{"chosen": "The sky is blue", "rejected": "The sky is green"}""");
        var p = Assert.Single(PreferenceDataLoader.Load(path).Pairs);
        Assert.Equal(("The sky is", " blue", " green"), (p.Prompt, p.Chosen, p.Rejected));
    }

    [Fact]
    public void Implicit_pair_with_surrogate_pairs_never_splits_a_character()
    {
        // 😀 (U+1F600) and 😁 (U+1F601) share their high surrogate.
        var path = _dir.File("emoji.jsonl", """{"chosen": "Mood: 😀", "rejected": "Mood: 😁"}""");
        var p = Assert.Single(PreferenceDataLoader.Load(path).Pairs);
        Assert.Equal(("Mood:", " 😀", " 😁"), (p.Prompt, p.Chosen, p.Rejected));
    }

    [Fact]
    public void Conversational_explicit_prompt_multi_turn_is_rendered_with_the_plain_template()
    {
        var path = _dir.File("conv.jsonl",
            """
            {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3×3?"}], "chosen": [{"role": "assistant", "content": "9"}], "rejected": [{"role": "assistant", "content": "6"}]}
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal(DataFormat.Conversational, data.Format);
        var p = Assert.Single(data.Pairs);
        Assert.Equal("<|system|>\nBe brief.\n<|user|>\n2+2?\n<|assistant|>\n4\n<|user|>\nAnd 3×3?\n<|assistant|>\n", p.Prompt);
        Assert.Equal("9\n", p.Chosen);
        Assert.Equal("6\n", p.Rejected);
    }

    [Fact]
    public void Conversational_implicit_prompt_is_the_shared_opening_turns()
    {
        var path = _dir.File("conv-implicit.jsonl",
            """
            {"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Name a colour"}, {"role": "assistant", "content": "Blue"}, {"role": "user", "content": "Another"}, {"role": "assistant", "content": "Red"}], "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Name a colour"}, {"role": "assistant", "content": "Seven"}]}
            """);
        var p = Assert.Single(PreferenceDataLoader.Load(path).Pairs);
        Assert.Equal("<|user|>\nHi\n<|assistant|>\nHello\n<|user|>\nName a colour\n<|assistant|>\n", p.Prompt);
        Assert.Equal("Blue\n<|user|>\nAnother\n<|assistant|>\nRed\n", p.Chosen);
        Assert.Equal("Seven\n", p.Rejected);
    }

    [Fact]
    public void Conversational_ultrafeedback_style_and_messages_style_give_the_same_pair()
    {
        var path = _dir.File("styles.jsonl",
            """
            {"prompt": "Capital of Japan?", "chosen": [{"role": "user", "content": "Capital of Japan?"}, {"role": "assistant", "content": "東京"}], "rejected": [{"role": "user", "content": "Capital of Japan?"}, {"role": "assistant", "content": "大阪"}], "score_chosen": 9.0, "score_rejected": 2.0}
            {"messages": [{"role": "user", "content": "Capital of Japan?"}], "chosen": "東京", "rejected": {"role": "assistant", "content": "大阪"}}
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal(2, data.Pairs.Count);
        foreach (var p in data.Pairs) Assert.Equal(("<|user|>\nCapital of Japan?\n<|assistant|>\n", "東京\n", "大阪\n"), (p.Prompt, p.Chosen, p.Rejected));
        Assert.Equal(9.0, data.Pairs[0].Extras["chosen_score"]);
    }

    private sealed class BrokenTemplate : IChatFormatter
    {
        public string Name => "broken";
        public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) =>
            string.Concat(messages.Select(m => $"[{m.Role}:{m.Content}]")) + (addGenerationPrompt ? "[assistant-start]" : "");
    }

    [Fact]
    public void Conversational_template_whose_prompt_is_not_a_prefix_is_reported()
    {
        var path = _dir.File("conv.jsonl", """{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}""" + "\n" +
                                           """{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}""");
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path, new DataOptions { ChatFormatter = new BrokenTemplate() }));
        Assert.Contains("prompt_not_shared_prefix 2", ex.Message);
        Assert.Contains($"{path}:1: prompt_not_shared_prefix", ex.Message);
    }

    [Fact]
    public void Unpaired_records_keep_labels_and_bad_labels_are_reported()
    {
        var path = _dir.File("kto.jsonl",
            """
            {"prompt": "Q1", "completion": " good", "label": true}
            {"prompt": "Q2", "completion": " bad", "label": false}
            {"prompt": "Q3", "completion": " meh", "label": "yes"}
            {"prompt": [{"role": "user", "content": "Q4"}], "completion": [{"role": "assistant", "content": "ok"}], "label": 1}
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal(DataFormat.Unpaired, data.Format);
        Assert.Empty(data.Pairs);
        Assert.Equal([true, false, true], data.Unpaired.Select(u => u.Label));
        Assert.Equal(("<|user|>\nQ4\n<|assistant|>\n", "ok\n"), (data.Unpaired[2].Prompt, data.Unpaired[2].Completion));
        var bad = Assert.Single(data.Report.Examples[RecordIssue.WrongType]);
        Assert.Equal($"{path}:3: wrong_type: field 'label' must be a boolean, got string", bad.ToString());
    }

    [Fact]
    public void Paired_data_splits_into_desirable_and_undesirable_examples()
    {
        var pair = new PreferenceExample("p", "c", "r", new SourceLocation("f", 1)) { Extras = new Dictionary<string, double> { ["w"] = 2 } };
        var split = Unpairing.Split([pair]);
        Assert.Equal([("c", true), ("r", false)], split.Select(u => (u.Completion, u.Label)));
        Assert.All(split, u => Assert.Equal(("p", 2.0), (u.Prompt, u.Extras["w"])));
    }

    private string RankedFile() => _dir.File("ranked.jsonl",
        """
        {"prompt": "Rate", "responses": ["a", "b", "c", "d"], "scores": [2, 9, 5, 1], "id": 7}
        {"prompt": "Tie", "responses": ["x", "y"], "scores": [3, 3]}
        {"prompt": "One", "responses": ["x"], "scores": [3]}
        {"prompt": "Bad", "responses": ["x", "y"], "scores": [3]}
        """);

    [Fact]
    public void Ranked_best_vs_worst_gives_one_pair_with_scores_for_odpo()
    {
        var data = PreferenceDataLoader.Load(RankedFile(), new DataOptions { Pairing = RankedPairing.BestVsWorst });
        Assert.Equal(DataFormat.Ranked, data.Format);
        var p = Assert.Single(data.Pairs);
        Assert.Equal(("b", "d", 9.0, 1.0, 7.0), (p.Chosen, p.Rejected, p.Extras["chosen_score"], p.Extras["rejected_score"], p.Extras["id"]));
        Assert.Equal(1, data.Report.Count(RecordIssue.WrongType));
        Assert.Equal(2, data.Report.Count(RecordIssue.NoRankedPair));
        Assert.Equal(4, data.Report.RecordsRead);
        Assert.Equal(1, data.Report.RecordsUsed);
    }

    [Fact]
    public void Ranked_best_vs_each_orders_by_score_gap_largest_first()
    {
        var data = PreferenceDataLoader.Load(RankedFile(), new DataOptions { Pairing = RankedPairing.BestVsEach });
        Assert.Equal([("b", "d"), ("b", "a"), ("b", "c")], data.Pairs.Select(p => (p.Chosen, p.Rejected)));
        Assert.Equal([8.0, 7.0, 4.0], data.Pairs.Select(p => p.Extras["chosen_score"] - p.Extras["rejected_score"]));
    }

    [Fact]
    public void Ranked_all_pairs_gives_every_ordered_pair()
    {
        var data = PreferenceDataLoader.Load(RankedFile(), new DataOptions { Pairing = RankedPairing.AllPairs });
        Assert.Equal(6, data.Pairs.Count); // 4 choose 2
        Assert.All(data.Pairs, p => Assert.True(p.Extras["chosen_score"] > p.Extras["rejected_score"]));
        Assert.Equal(6, data.Report.ExamplesProduced);
    }

    [Fact]
    public void Json_array_records_are_numbered_by_the_line_they_start_on()
    {
        var path = _dir.File("arr.json",
            """
            [
              {"prompt": "p1", "chosen": "c1", "rejected": "r1"},
              {"prompt": "p2",
               "chosen": "c2", "rejected": "r2"},
              {"prompt": "p3", "chosen": 3, "rejected": "r3"},
              "not a record"
            ]
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal([2L, 3L], data.Pairs.Select(p => p.Source.Line));
        Assert.Equal($"{path}:5: wrong_type: field 'chosen' must be a string, got number", data.Report.Examples[RecordIssue.WrongType][0].ToString());
        Assert.Equal(6, data.Report.Examples[RecordIssue.NotAnObject][0].Where.Line);
    }

    [Fact]
    public void Json_file_holding_lines_is_read_as_json_lines()
    {
        var path = _dir.File("lines.json", "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"}\n{\"prompt\": \"p\", \"chosen\": \"c2\", \"rejected\": \"r\"}\n");
        Assert.Equal(2, PreferenceDataLoader.Load(path).Pairs.Count);
    }

    [Fact]
    public void Forced_format_overrides_detection()
    {
        var path = _dir.File("explicit.jsonl", """{"prompt": "Say:", "chosen": "Say: yes", "rejected": "Say: no"}""");
        var p = Assert.Single(PreferenceDataLoader.Load(path, new DataOptions { Format = DataFormat.Implicit }).Pairs);
        Assert.Equal(("Say:", " yes", " no"), (p.Prompt, p.Chosen, p.Rejected));
        var ex = Assert.Throws<DataException>(() => PreferenceDataLoader.Load(path, new DataOptions { Format = DataFormat.Unpaired }));
        Assert.Contains("missing field 'label'", ex.Message);
    }

    [Fact]
    public void Format_names_parse_and_unknown_names_are_errors()
    {
        Assert.Equal(DataFormat.Conversational, DataFormats.Parse("conversational"));
        Assert.Contains("unknown data format 'xml'", Assert.Throws<ArgumentException>(() => DataFormats.Parse("xml")).Message);
        Assert.Throws<ArgumentException>(() => DataFormats.Parse("3"));
    }
}

public sealed class ContentPartsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Text_content_parts_are_joined_and_image_parts_are_reported()
    {
        var path = _dir.File("parts.jsonl",
            """
            {"prompt": [{"role": "user", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]}], "chosen": [{"role": "assistant", "content": "Hi"}], "rejected": [{"role": "assistant", "content": "Go"}]}
            {"prompt": [{"role": "user", "content": [{"type": "image"}]}], "chosen": [{"role": "assistant", "content": "Hi"}], "rejected": [{"role": "assistant", "content": "Go"}]}
            """);
        var data = PreferenceDataLoader.Load(path);
        Assert.Equal("<|user|>\nHello\n<|assistant|>\n", Assert.Single(data.Pairs).Prompt);
        Assert.Equal($"{path}:2: wrong_type: 'prompt'[0].content[0] must be a text part {{\"type\": \"text\", \"text\": ...}}, got object",
            Assert.Single(data.Report.Examples[AlignSharp.Data.Validation.RecordIssue.WrongType]).ToString());
    }
}
