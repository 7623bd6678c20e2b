using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Tokenization;

/// <summary>Special-token ids, the "never two BOS" rule and loader details on the golden tokenizers.</summary>
public sealed class HfTokenizerBehaviourTests(GoldenTokenizerFixture fixture) : IClassFixture<GoldenTokenizerFixture>
{
    [Theory]
    // gpt2 has no configs: <|endoftext|> serves as BOS and EOS, no pad.
    [InlineData("gpt2", 50256, 50256, null, 50257)]
    // pythia: tokenizer_config.json names <|endoftext|> (0) for bos/eos and [PAD] (50277).
    [InlineData("pythia-410m", 0, 0, 50277, 50278)]
    // smollm: bos <|im_start|> = 1, eos and pad <|im_end|> = 2 (plain strings in tokenizer_config.json).
    [InlineData("smollm-360m-instruct", 1, 2, 2, 49152)]
    // mistral: <s> = 1, </s> = 2, pad_token null.
    [InlineData("mistral-7b-instruct-v0.3", 1, 2, null, 32768)]
    public void Special_ids_come_from_the_configs(string name, int? bos, int? eos, int? pad, int vocabSize)
    {
        var tok = fixture.Tokenizer(name);
        Assert.Equal(bos, tok.BosId);
        Assert.Equal(eos, tok.EosId);
        Assert.Equal(pad, tok.PadId);
        Assert.Equal(vocabSize, tok.VocabSize);
    }

    [Fact]
    public void Encode_with_special_tokens_matches_hugging_face_even_when_it_doubles_bos()
    {
        var tok = fixture.Tokenizer("mistral-7b-instruct-v0.3");
        const string text = "<s>[INST] Hi [/INST]";
        var plain = tok.Encode(text);
        Assert.Equal(1, plain[0]);
        // Hugging Face's TemplateProcessing prepends <s> regardless of the literal one.
        Assert.Equal([1, .. plain], tok.Encode(text, addSpecialTokens: true));
    }

    [Fact]
    public void AddSpecialTokensOnce_never_gives_two_bos()
    {
        var tok = fixture.Tokenizer("mistral-7b-instruct-v0.3");
        var withLiteral = tok.AddSpecialTokensOnce("<s>[INST] Hi [/INST]");
        Assert.Equal(tok.Encode("<s>[INST] Hi [/INST]"), withLiteral);
        Assert.Equal(1, withLiteral.Count(id => id == tok.BosId));

        var withoutLiteral = tok.AddSpecialTokensOnce("[INST] Hi [/INST]");
        Assert.Equal(tok.Encode("[INST] Hi [/INST]", addSpecialTokens: true), withoutLiteral);
        Assert.Equal(1, withoutLiteral[0]);
        Assert.Equal(1, withoutLiteral.Count(id => id == tok.BosId));

        Assert.Equal([1], tok.AddSpecialTokensOnce(""));
    }

    [Fact]
    public void AddSpecialTokensOnce_adds_nothing_where_the_post_processor_adds_nothing()
    {
        var tok = fixture.Tokenizer("gpt2");
        const string text = "<|endoftext|>Hello<|endoftext|>";
        Assert.Equal(tok.Encode(text), tok.AddSpecialTokensOnce(text));
        Assert.Equal([50256, 15496, 50256], tok.AddSpecialTokensOnce(text));
    }

    [Fact]
    public void Repeated_encoding_uses_the_cache_and_gives_the_same_ids()
    {
        var tok = fixture.Tokenizer("smollm-360m-instruct");
        const string text = "The year 2024 had 366 days; the cache must not change that.";
        var first = tok.Encode(text).ToArray();
        Assert.Equal(first, tok.Encode(text));
        Assert.Equal(text, tok.Decode(first));
    }

    [Fact]
    public void Token_lookup_covers_added_tokens_and_the_model_vocabulary()
    {
        var mistral = fixture.Tokenizer("mistral-7b-instruct-v0.3");
        Assert.Equal(3, mistral.TokenToId("[INST]"));
        Assert.True(mistral.IsSpecial(3));
        Assert.Equal("[INST]", mistral.IdToToken(3));
        var gpt2 = fixture.Tokenizer("gpt2");
        Assert.Equal(995, gpt2.TokenToId("Ġworld"));
        Assert.False(gpt2.IsSpecial(995));
        Assert.Null(gpt2.TokenToId("no such token"));
        // Pythia's space-run tokens are added but not special: skipSpecialTokens keeps them.
        var pythia = fixture.Tokenizer("pythia-410m");
        int spaces = pythia.TokenToId(new string(' ', 24))!.Value;
        Assert.False(pythia.IsSpecial(spaces));
        Assert.Equal("x" + new string(' ', 24) + "y", pythia.Decode(pythia.Encode("x" + new string(' ', 24) + "y"), skipSpecialTokens: true));
    }

    [Fact]
    public void Concurrent_encoding_gives_the_same_ids_as_sequential()
    {
        var tok = fixture.Tokenizer("pythia-410m");
        // Words no other test uses, so the word cache is filled concurrently first.
        var texts = Enumerable.Range(0, 64).Select(i => $"Zqv{i}x: naïve café   déjà vu {i * 7919} — 日本語 qq{new string('x', i % 13)}").ToArray();
        var parallel = new int[texts.Length * 4][];
        Parallel.For(0, parallel.Length, k => parallel[k] = tok.Encode(texts[k % texts.Length]).ToArray());
        for (int k = 0; k < parallel.Length; k++)
        {
            Assert.Equal(tok.Encode(texts[k % texts.Length]), parallel[k]);
            Assert.Equal(texts[k % texts.Length], tok.Decode(parallel[k]));
        }
    }

    [Fact]
    public void Decoding_an_unknown_id_names_it()
    {
        var tok = fixture.Tokenizer("gpt2");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([15496, 99999]));
        Assert.Contains("99999", e.Message);
    }
}
