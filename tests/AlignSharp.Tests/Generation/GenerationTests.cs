using AlignSharp.Checkpoints;
using AlignSharp.Generation;
using AlignSharp.Models;
using AlignSharp.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Generation;

public sealed class GenerationTests
{
    public static TheoryData<string> Folders => new(GoldenModel.Names);

    private static IReadOnlyList<int> Ints(long[] xs) => xs.Select(x => (int)x).ToArray();

    [Theory]
    [MemberData(nameof(Folders))]
    public void Kv_cache_greedy_matches_the_golden_full_recomputation_per_row_and_in_a_left_padded_batch(string folder)
    {
        var golden = GoldenModel.Load(folder);
        using var model = HfCheckpoint.Load(golden.Dir).Model;
        var options = new GenerationOptions { MaxNewTokens = golden.Greedy[0].MaxNewTokens };
        foreach (var g in golden.Greedy)
        {
            var single = TextGenerator.Generate(model, [Ints(g.Prompt)], options).Single();
            Assert.Equal(g.NewTokens.Select(t => (int)t), single.Tokens);
            Assert.False(single.StoppedAtEos);
        }
        // The golden prompts have different lengths (4 and 6), so the batch is left-padded.
        var batch = TextGenerator.Generate(model, golden.Greedy.Select(g => Ints(g.Prompt)).ToList(), options with { PadTokenId = 7 });
        for (int i = 0; i < golden.Greedy.Count; i++) Assert.Equal(golden.Greedy[i].NewTokens.Select(t => (int)t), batch[i].Tokens);
    }

    /// <summary>Learned positions (GPT-2) and scaled RoPE (a Llama with rope_scaling).</summary>
    public static TheoryData<string> PositionKinds => FixtureModels.Names([FixtureModels.Gpt2, FixtureModels.RopeScaledLlama]);

    [Theory]
    [MemberData(nameof(PositionKinds))]
    public void Cached_hidden_states_equal_the_uncached_forward_with_left_padding(string folder)
    {
        using var model = HfCheckpoint.Load(GoldenModel.DirOf(folder)).Model;
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(new long[] { 0, 0, 0, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29 }, [2, 10]);
        var mask = torch.tensor(new long[] { 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, [2, 10]);
        var pos = CausalLM.PositionsFromMask(mask);
        var full = model.ForwardHidden(ids, mask, pos); // (2, 10, C)
        using var cache = model.NewCache();
        var parts = new List<Tensor> { model.ForwardHidden(ids[.., ..6], mask[.., ..6], pos[.., ..6], cache) };
        for (int t = 6; t < 10; t++) parts.Add(model.ForwardHidden(ids[.., t..(t + 1)], mask[.., ..(t + 1)], pos[.., t..(t + 1)], cache));
        Assert.Equal(10, cache.Length);
        var incremental = torch.cat(parts, 1);
        var real = mask.to(ScalarType.Bool).unsqueeze(-1); // pad slots are undefined
        double diff = (full - incremental).abs().masked_fill(real.logical_not(), 0).max().item<float>();
        Assert.True(diff < 1e-5, $"cached vs uncached hidden states differ by {diff:E2}");
    }

    [Fact]
    public void Batched_generation_equals_per_row_generation_for_prompts_of_different_lengths()
    {
        using var model = HfCheckpoint.Load(FixtureModels.OfType("qwen2").Dir).Model;
        int[][] prompts = [[5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9], [42], [90, 80, 70, 60]];
        var options = new GenerationOptions { MaxNewTokens = 12 };
        var batched = TextGenerator.Generate(model, prompts, options);
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(TextGenerator.Generate(model, [prompts[i]], options).Single().Tokens, batched[i].Tokens);
    }

    [Fact]
    public void Generation_stops_per_row_at_any_eos_id_and_keeps_other_rows_going()
    {
        var golden = GoldenModel.Load(FixtureModels.Llama.Name);
        using var model = HfCheckpoint.Load(golden.Dir).Model;
        var (a, b) = (golden.Greedy[0], golden.Greedy[1]);
        // The EOS list: the first token of row a (after its first) that neither row produced earlier nor row b produces
        // at all, and an id neither row produces.
        int stopAt = Enumerable.Range(1, a.NewTokens.Length - 1).First(k =>
            !a.NewTokens.Take(k).Contains(a.NewTokens[k]) && !b.NewTokens.Contains(a.NewTokens[k]));
        int stopA = (int)a.NewTokens[stopAt];
        int never = Enumerable.Range(0, model.Config.VocabSize).Last(id => !a.NewTokens.Contains(id) && !b.NewTokens.Contains(id));
        var options = new GenerationOptions { MaxNewTokens = a.MaxNewTokens, EosTokenIds = [never, stopA] };
        var result = TextGenerator.Generate(model, [Ints(a.Prompt), Ints(b.Prompt)], options);
        Assert.Equal(a.NewTokens.Take(stopAt + 1).Select(t => (int)t), result[0].Tokens);
        Assert.True(result[0].StoppedAtEos);
        Assert.Equal(b.NewTokens.Select(t => (int)t), result[1].Tokens);
        Assert.False(result[1].StoppedAtEos);
    }

    [Fact]
    public void Sampling_is_deterministic_under_a_seed_and_depends_on_it()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Gpt2.Dir).Model;
        int[][] prompts = [[5, 6, 7], [1, 2]];
        var options = new GenerationOptions { MaxNewTokens = 20, Temperature = 1.5, TopK = 20, TopP = 0.95 };
        IReadOnlyList<GenerationResult> Run(ulong seed)
        {
            using var rng = new torch.Generator(seed);
            return TextGenerator.Generate(model, prompts, options, rng);
        }
        var first = Run(1234);
        var again = Run(1234);
        var other = Run(99);
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(first[i].Tokens, again[i].Tokens);
        Assert.NotEqual(first.SelectMany(r => r.Tokens), other.SelectMany(r => r.Tokens));
    }

    [Fact]
    public void Top_k_1_and_a_tiny_top_p_reduce_sampling_to_greedy()
    {
        using var model = HfCheckpoint.Load(FixtureModels.RopeScaledLlama.Dir).Model;
        int[][] prompts = [[3, 1, 4, 1, 5], [9, 2, 6]];
        var greedy = TextGenerator.Generate(model, prompts, new GenerationOptions { MaxNewTokens = 10 });
        using var rng = new torch.Generator(7);
        var topK = TextGenerator.Generate(model, prompts, new GenerationOptions { MaxNewTokens = 10, Temperature = 2, TopK = 1 }, rng);
        var topP = TextGenerator.Generate(model, prompts, new GenerationOptions { MaxNewTokens = 10, Temperature = 2, TopP = 1e-6 }, rng);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(greedy[i].Tokens, topK[i].Tokens);
            Assert.Equal(greedy[i].Tokens, topP[i].Tokens);
        }
    }

    [Fact]
    public void Sampler_frequencies_follow_the_filtered_distribution()
    {
        // logits ln(0.5), ln(0.3), ln(0.15), ln(0.05): top_p 0.8 keeps {0, 1} (0.5 + 0.3 reaches 0.8) -> 0.625 / 0.375.
        var logits = torch.log(torch.tensor(new float[] { 0.5f, 0.3f, 0.15f, 0.05f })).unsqueeze(0).expand(4000, 4).contiguous();
        using var rng = new torch.Generator(3);
        var drawn = TokenSampler.Next(logits, new GenerationOptions { Temperature = 1, TopP = 0.8 }, rng).data<long>().ToArray();
        Assert.All(drawn, d => Assert.InRange(d, 0, 1));
        double share0 = drawn.Count(d => d == 0) / 4000.0;
        Assert.InRange(share0, 0.625 - 0.03, 0.625 + 0.03); // ~4 standard deviations
        var topK = TokenSampler.Next(logits, new GenerationOptions { Temperature = 1, TopK = 3 }, rng).data<long>().ToArray();
        Assert.All(topK, d => Assert.InRange(d, 0, 2));
        Assert.InRange(topK.Count(d => d == 2) / 4000.0, 0.15 / 0.95 - 0.03, 0.15 / 0.95 + 0.03);
    }

    [Fact]
    public void Inverse_cdf_sampling_never_picks_zero_probability_ids_and_matches_frequencies()
    {
        var probs = torch.tensor(new float[] { 0, 0.2f, 0, 0.8f, 0 }).unsqueeze(0).expand(5000, 5).contiguous();
        using var rng = new torch.Generator(17);
        var drawn = TokenSampler.SampleRows(probs, rng).data<long>().ToArray();
        Assert.All(drawn, d => Assert.True(d is 1 or 3, $"picked id {d} of probability 0"));
        Assert.InRange(drawn.Count(d => d == 1) / 5000.0, 0.2 - 0.025, 0.2 + 0.025); // ~4.5 standard deviations
    }

    [Fact]
    public void Invalid_settings_and_prompts_are_errors_naming_them()
    {
        var gpt2 = FixtureModels.Gpt2;
        using var model = HfCheckpoint.Load(gpt2.Dir).Model;
        int outside = gpt2.VocabSize, positions = gpt2.MaxPositions;
        Assert.Contains("top_p", Assert.Throws<GenerationException>(() => TextGenerator.Generate(model, [[1]], new GenerationOptions { Temperature = 1, TopP = 0 })).Message);
        Assert.Contains($"token id {outside}", Assert.Throws<GenerationException>(() => TextGenerator.Generate(model, [[1, outside]], new GenerationOptions())).Message);
        Assert.Contains($"{positions} positions", Assert.Throws<GenerationException>(() => TextGenerator.Generate(model, [[1, 2]], new GenerationOptions { MaxNewTokens = positions - 1 })).Message);
    }
}
