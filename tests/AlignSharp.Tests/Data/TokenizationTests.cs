using AlignSharp.Data;
using AlignSharp.Data.Validation;

namespace AlignSharp.Tests.Data;

public sealed class TokenizationTests
{
    private static readonly SourceLocation Where = new("t.jsonl", 1);
    private const int B = TestByteTokenizer.Bos, E = TestByteTokenizer.Eos;

    private static int[] Bytes(string s) => System.Text.Encoding.UTF8.GetBytes(s).Select(b => (int)b).ToArray();

    [Fact]
    public void Bos_once_before_the_prompt_and_eos_once_after_each_completion()
    {
        var t = new PairTokenizer(new TestByteTokenizer(), 64).Tokenize(new PreferenceExample("ab", "é", "x<eos>", Where));
        Assert.Equal([B, 'a', 'b'], t.Prompt);
        Assert.Equal([0xC3, 0xA9, E], t.Chosen);
        Assert.Equal(['x', E], t.Rejected); // already ends with EOS: not added again
        Assert.False(t.PromptTruncated || t.CompletionTruncated);
    }

    [Fact]
    public void Bos_already_rendered_by_a_template_is_not_doubled()
    {
        var t = new PairTokenizer(new TestByteTokenizer(), 64).Tokenize(new PreferenceExample("<bos>hi", "a", "b", Where));
        Assert.Equal([B, 'h', 'i'], t.Prompt);
        var noBos = new PairTokenizer(new TestByteTokenizer(withBos: false), 64).Tokenize(new PreferenceExample("hi", "a", "b", Where));
        Assert.Equal(['h', 'i'], noBos.Prompt);
    }

    [Fact]
    public void Prompt_tokens_are_never_scored_in_a_collated_batch()
    {
        var tok = new PairTokenizer(new TestByteTokenizer(), 64);
        var pairs = new[] { tok.Tokenize(new PreferenceExample("abc", "d", "efg", Where)), tok.Tokenize(new PreferenceExample("h", "ij", "k", Where)) };
        using var batch = PreferenceCollator.Collate(pairs, TestByteTokenizer.Pad);
        var mask = batch.CompletionMask.data<float>().ToArray();
        var ids = batch.InputIds.data<long>().ToArray();
        int width = (int)batch.InputIds.shape[1];
        Assert.Equal(8, width); // BOS abc efg EOS
        // Row 0 (chosen of pair 0): BOS a b c | d EOS | pad pad
        Assert.Equal(new long[] { B, 'a', 'b', 'c', 'd', E, TestByteTokenizer.Pad, TestByteTokenizer.Pad }, ids[..8]);
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 1, 0, 0 }, mask[..8]);
        // Row 3 (rejected of pair 1): BOS h | k EOS
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0, 0, 0 }, mask[(3 * width)..(4 * width)]);
    }

    [Theory]
    [InlineData(TruncationMode.KeepEnd, "ghij")]
    [InlineData(TruncationMode.KeepStart, "abcd")]
    public void Prompt_is_truncated_first_keeping_bos_and_the_chosen_end(TruncationMode mode, string kept)
    {
        // prompt BOS+10, completions 3+EOS: 15 > 10, so the prompt is cut to 5 (BOS + 4), then completions fit in 5.
        var tok = new PairTokenizer(new TestByteTokenizer(), new TokenizationOptions(MaxLength: 10, MaxPromptLength: 5, PromptTruncation: mode));
        var t = tok.Tokenize(new PreferenceExample("abcdefghij", "xyz", "uvw", Where));
        Assert.Equal([B, .. Bytes(kept)], t.Prompt);
        Assert.Equal([.. Bytes("xyz"), E], t.Chosen);
        Assert.True(t.PromptTruncated);
        Assert.False(t.CompletionTruncated);
        Assert.True(t.Length <= 10);
    }

    [Fact]
    public void Completions_are_cut_to_the_room_left_after_the_prompt_losing_their_eos()
    {
        var tok = new PairTokenizer(new TestByteTokenizer(), new TokenizationOptions(MaxLength: 8, MaxPromptLength: 4));
        var t = tok.Tokenize(new PreferenceExample("ab", "0123456789", "z", Where));
        Assert.Equal([B, 'a', 'b'], t.Prompt); // short prompt untouched
        Assert.Equal(Bytes("01234"), t.Chosen);
        Assert.Equal(['z', E], t.Rejected);
        Assert.True(t.CompletionTruncated);
        Assert.False(t.PromptTruncated);
    }

    [Fact]
    public void Pair_too_long_even_after_truncation_is_reported_and_counted()
    {
        var tok = new PairTokenizer(new TestByteTokenizer(), new TokenizationOptions(MaxLength: 6));
        var report = new DataReport();
        var examples = new[]
        {
            new PreferenceExample("abcdefgh", "x", "y", new SourceLocation("t.jsonl", 4)), // prompt 9 tokens, no max_prompt_length
            new PreferenceExample("ab", "xyzxyz", "y", new SourceLocation("t.jsonl", 5)),  // completion cut
            new PreferenceExample("ab", "x", "y", new SourceLocation("t.jsonl", 6)),
        };
        var pairs = tok.TokenizeAll(examples, report);
        Assert.Equal(2, pairs.Count);
        Assert.Equal(1, report.ExamplesTooLong);
        Assert.Equal(1, report.CompletionTruncated);
        Assert.Equal("t.jsonl:4: too_long_after_truncation: prompt has 9 tokens; with max_length 6 and max_prompt_length unset no completion token fits",
            report.Examples[RecordIssue.TooLong][0].ToString());
        var ex = Assert.Throws<DataException>(() => tok.TokenizeAll(examples, new DataReport(), BadRecordPolicy.Fail));
        Assert.StartsWith("t.jsonl:4: too_long_after_truncation", ex.Message);
    }

    [Fact]
    public void Unpaired_examples_tokenize_with_the_same_rules()
    {
        var tok = new PairTokenizer(new TestByteTokenizer(), new TokenizationOptions(MaxLength: 5, MaxPromptLength: 3, PromptTruncation: TruncationMode.KeepEnd));
        var t = tok.TryTokenize(new UnpairedExample("abcd", "xyz", true, Where), out var problem);
        Assert.Null(problem);
        Assert.Equal([B, 'c', 'd'], t!.Prompt);
        Assert.Equal(['x', 'y'], t.Completion);
        Assert.True(t.PromptTruncated && t.CompletionTruncated);
    }

    [Fact]
    public void Truncation_mode_names_parse()
    {
        Assert.Equal(TruncationMode.KeepStart, TokenizationOptions.ParseMode("keep_start"));
        Assert.Equal(TruncationMode.KeepEnd, TokenizationOptions.ParseMode("keep_end"));
        Assert.Contains("keep_start or keep_end", Assert.Throws<ArgumentException>(() => TokenizationOptions.ParseMode("middle")).Message);
    }
}

public sealed class ChatTemplateTokenizationTests
{
    private static string Folder => Path.Combine(TestSetup.Shared, "golden", "tokenizers", "smollm-360m-instruct");

    [Fact]
    public void Model_chat_template_renders_conversations_and_bos_eos_stay_single()
    {
        var tokenizer = AlignSharp.Tokenization.AutoTokenizer.FromFolder(Folder);
        var chat = AlignSharp.Data.Chat.TemplateChatFormatter.FromTokenizerConfig(Path.Combine(Folder, "tokenizer_config.json"));
        using var dir = new TempDir();
        var path = dir.File("conv.jsonl",
            """{"prompt": [{"role": "user", "content": "Wie viel ist 3×3?"}], "chosen": [{"role": "assistant", "content": "Neun."}], "rejected": [{"role": "assistant", "content": "Sechs."}]}""");
        var data = PreferenceDataLoader.Load(path, new DataOptions { ChatFormatter = chat });
        var pair = Assert.Single(data.Pairs);
        Assert.Equal("<|im_start|>user\nWie viel ist 3×3?<|im_end|>\n<|im_start|>assistant\n", pair.Prompt);
        Assert.Equal("Neun.<|im_end|>\n", pair.Chosen);
        var t = new PairTokenizer(tokenizer, 128).Tokenize(pair);
        int bos = tokenizer.BosId!.Value, eos = tokenizer.EosId!.Value;
        // SmolLM's BOS is <|im_start|>: the template already opens with it, so it is not prepended again.
        Assert.Equal(bos, t.Prompt[0]);
        Assert.NotEqual(bos, t.Prompt[1]);
        // The turn closes with <|im_end|> (EOS) + "\n": the completion ends at that EOS, which appears once.
        Assert.Equal(eos, t.Chosen[^1]);
        Assert.Equal(1, t.Chosen.Count(id => id == eos));
        Assert.Equal("Neun.<|im_end|>", tokenizer.Decode(t.Chosen));
    }
}
