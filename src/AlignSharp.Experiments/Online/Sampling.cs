using System.Diagnostics;
using AlignSharp.Evaluation;
using AlignSharp.Generation;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;

namespace AlignSharp.Online;

/// <summary>One sampled completion: text, token ids (with a final EOS when one was produced), and its source.</summary>
public sealed record Candidate(string Text, int[] Ids, string Source);

/// <summary>A prompt and its n candidates.</summary>
public sealed record SampleGroup(string Prompt, int[] PromptIds, IReadOnlyList<Candidate> Candidates);

/// <summary>What one sample step produced, with its decoding speed.</summary>
/// <param name="Groups">One group per prompt, in prompt order.</param>
/// <param name="GeneratedTokens">New tokens decoded (EOS included, padding after EOS excluded).</param>
/// <param name="Seconds">Wall time of the decoding.</param>
public sealed record SampleResult(IReadOnlyList<SampleGroup> Groups, long GeneratedTokens, double Seconds)
{
    /// <summary>Generated tokens per second of wall time.</summary>
    public double TokensPerSecond => Seconds > 0 ? GeneratedTokens / Seconds : 0;
}

/// <summary>
/// The sample step: n completions per prompt from the policy, the reference or a mix, decoded in batches of
/// left-padded rows with the KV cache (<see cref="TextGenerator"/>) at the configured temperature, top-p and top-k.
/// Each source draws from its own generator seeded by the caller, so a seed fixes every sample.
/// </summary>
public sealed class Sampler(SampleSection options, ITokenizer tokenizer, int padId)
{
    /// <summary>Samples <see cref="SampleSection.N"/> completions for every prompt.</summary>
    public SampleResult Sample(IReadOnlyList<string> prompts, CausalLM policy, CausalLM reference, long seed)
    {
        int n = options.N;
        int fromReference = options.From switch
        {
            SampleSource.Policy => 0,
            SampleSource.Reference => n,
            _ => Math.Clamp((int)Math.Round(n * options.ReferenceShare), 1, n - 1),
        };
        var promptIds = prompts.Select(p => PolicySamples.EncodePrompt(tokenizer, p)).ToList();
        var watch = Stopwatch.StartNew();
        var fromPolicy = Generate(policy, promptIds, n - fromReference, seed);
        var fromRef = Generate(reference, promptIds, fromReference, seed + 1);
        watch.Stop();
        long tokens = 0;
        var groups = new List<SampleGroup>(prompts.Count);
        for (int p = 0; p < prompts.Count; p++)
        {
            var candidates = new List<Candidate>(n);
            foreach (var (rows, source) in new[] { (fromPolicy, "policy"), (fromRef, "reference") })
            {
                foreach (var ids in rows[p])
                {
                    tokens += ids.Length;
                    candidates.Add(new Candidate(PolicySamples.DecodeCompletion(tokenizer, ids), ids, source));
                }
            }
            groups.Add(new SampleGroup(prompts[p], promptIds[p], candidates));
        }
        return new SampleResult(groups, tokens, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// <paramref name="k"/> completions of every prompt from <paramref name="model"/>: [prompt][k] ids.
    /// </summary>
    private List<int[]>[] Generate(CausalLM model, List<int[]> promptIds, int k, long seed)
    {
        var result = promptIds.Select(_ => new List<int[]>()).ToArray();
        if (k == 0) return result;
        // Rows are prompt-major (p0 x k, p1 x k, ...), so a prompt's k copies share a batch.
        var rows = promptIds.SelectMany(p => Enumerable.Repeat<IReadOnlyList<int>>(p, k)).ToList();
        using var generator = new torch.Generator((ulong)seed, model.parameters().First().device);
        var generation = new GenerationOptions
        {
            MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, TopP = options.TopP,
            TopK = options.TopK, BatchSize = options.BatchSize, PadTokenId = padId,
            EosTokenIds = tokenizer.EosId is { } eos ? [eos] : [],
        };
        var outputs = TextGenerator.Generate(model, rows, generation, generator);
        for (int r = 0; r < outputs.Count; r++) result[r / k].Add(outputs[r].Tokens);
        return result;
    }
}
