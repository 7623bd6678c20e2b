using AlignSharp.Evaluation;
using AlignSharp.Generation;
using AlignSharp.Models;
using TorchSharp;

namespace AlignSharp.Tests.Evaluation;

[Collection("TorchGlobalSeed")]
public sealed class SequenceKlTests
{
    private const int Vocab = 5;
    private const int Eos = 4;
    private const int MaxNew = 3;
    private static readonly int[] Prompt = [0, 2];

    /// <summary>Pure ancestral samples (temperature 1, full vocabulary) through the KV-cache generator.</summary>
    private static List<int[]> Sample(CausalLM model, List<int[]> prompts, torch.Generator g, int batch) =>
        TextGenerator.Generate(model, prompts, new GenerationOptions { MaxNewTokens = MaxNew, Temperature = 1, EosTokenIds = [Eos], BatchSize = batch }, g)
            .Select(r => r.Tokens).ToList();

    [Fact]
    public void Kl_is_exactly_zero_when_policy_is_reference()
    {
        var policy = TinyModels.Create(Vocab, seed: 1, sharpness: 5);
        var clone = TinyModels.Clone(policy);
        using var g = new torch.Generator(7);
        var prompts = Enumerable.Repeat(Prompt, 200).ToList();
        var samples = Sample(policy, prompts, g, 64);

        var same = SequenceKl.Estimate(policy, policy, prompts, samples);
        var copy = SequenceKl.Estimate(policy, clone, prompts, samples);
        Assert.Equal(0.0, same.Mean);
        Assert.Equal(0.0, same.StandardError);
        Assert.Equal(0.0, copy.Mean); // a separate model with equal weights computes bit-identical log-probs
        Assert.Equal(0.0, SequenceKl.Exact(policy, clone, Prompt, MaxNew, Eos));
    }

    [Fact]
    public void Exact_chain_rule_kl_equals_the_sum_over_every_complete_sequence()
    {
        var policy = TinyModels.Create(Vocab, seed: 1, sharpness: 5);
        var reference = TinyModels.Create(Vocab, seed: 2, sharpness: 5);
        // Every completion: ends at EOS after 1..MaxNew tokens, or stops at MaxNew tokens without EOS.
        var all = new List<int[]>();
        void Grow(int[] prefix)
        {
            for (int v = 0; v < Vocab; v++)
            {
                int[] y = [.. prefix, v];
                if (v == Eos || y.Length == MaxNew) all.Add(y);
                else Grow(y);
            }
        }
        Grow([]);
        Assert.Equal(1 + 4 + 16 * Vocab, all.Count); // EOS at step 1 or 2, or any last token at step 3
        var prompts = all.Select(_ => Prompt).ToList();
        var lp = CompletionLogProbs.Compute(policy, prompts, all);
        var lr = CompletionLogProbs.Compute(reference, prompts, all);
        Assert.Equal(1.0, lp.Sum(Math.Exp), 5); // a distribution over complete sequences
        double brute = lp.Select((l, i) => Math.Exp(l) * (l - lr[i])).Sum();

        double exact = SequenceKl.Exact(policy, reference, Prompt, MaxNew, Eos);
        Assert.True(exact > 0.05, $"test models should differ noticeably, KL = {exact}");
        Assert.Equal(brute, exact, 4);
    }

    [Fact]
    public void Monte_Carlo_estimate_matches_the_exact_kl_within_standard_errors()
    {
        var policy = TinyModels.Create(Vocab, seed: 1, sharpness: 5);
        var reference = TinyModels.Create(Vocab, seed: 2, sharpness: 5);
        double exact = SequenceKl.Exact(policy, reference, Prompt, MaxNew, Eos);

        using var g = new torch.Generator(123);
        var prompts = Enumerable.Repeat(Prompt, 4000).ToList();
        var samples = Sample(policy, prompts, g, 1000);
        var estimate = SequenceKl.Estimate(policy, reference, prompts, samples, batchSize: 1000);

        Assert.Equal(4000, estimate.Count);
        Assert.True(estimate.StandardError > 0 && estimate.StandardError < 0.1 * exact, $"SE {estimate.StandardError} vs KL {exact}");
        Assert.True(Math.Abs(estimate.Mean - exact) < 4 * estimate.StandardError,
            $"estimate {estimate} vs exact {exact:0.0000}");
        // The reverse direction is a different number: the estimator is not symmetric by accident.
        Assert.NotEqual(exact, SequenceKl.Exact(reference, policy, Prompt, MaxNew, Eos), 3);
    }

    [Fact]
    public void Exact_refuses_enumerations_that_are_too_large()
    {
        var policy = TinyModels.Create(Vocab, seed: 1);
        var e = Assert.Throws<EvaluationException>(() => SequenceKl.Exact(policy, policy, Prompt, 12, Eos, maxPrefixes: 1000));
        Assert.Contains("more than 1000 prefixes", e.Message);
    }
}
