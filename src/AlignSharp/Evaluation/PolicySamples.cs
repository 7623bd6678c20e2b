using AlignSharp.Data;
using AlignSharp.Generation;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;

namespace AlignSharp.Evaluation;

/// <summary>Completions sampled from a model: prompts and completions as text and as ids (completion ids keep a final EOS).</summary>
public sealed record PolicySamples(IReadOnlyList<string> Prompts, IReadOnlyList<int[]> PromptIds, IReadOnlyList<int[]> CompletionIds, IReadOnlyList<string> Completions)
{
    /// <summary>Number of samples.</summary>
    public int Count => Prompts.Count;

    /// <summary>Prompt ids as training sees them: BOS once (if the tokenizer has one), then the prompt text.</summary>
    public static int[] EncodePrompt(ITokenizer tokenizer, string prompt)
    {
        var ids = new List<int>();
        if (tokenizer.BosId is { } bos) ids.Add(bos);
        ids.AddRange(tokenizer.Encode(prompt));
        return ids.ToArray();
    }

    /// <summary>Completion text: the ids up to (not including) EOS, special tokens skipped.</summary>
    public static string DecodeCompletion(ITokenizer tokenizer, int[] ids)
    {
        int end = tokenizer.EosId is { } eos && Array.IndexOf(ids, eos) is var i and >= 0 ? i : ids.Length;
        return tokenizer.Decode(ids.Take(end), skipSpecialTokens: true);
    }

    /// <summary>
    /// Samples one completion per prompt from <paramref name="model"/> at temperature 1 over the full vocabulary (no top-k/top-p, as the KL estimator needs),
    /// up to <paramref name="maxNewTokens"/> tokens or EOS, seeded by <paramref name="seed"/>.
    /// </summary>
    public static PolicySamples Draw(CausalLM model, ITokenizer tokenizer, IReadOnlyList<string> prompts, int maxNewTokens, long seed)
    {
        if (maxNewTokens < 1) throw new EvaluationException($"maxNewTokens must be >= 1, got {maxNewTokens}");
        var promptIds = prompts.Select(p => EncodePrompt(tokenizer, p)).ToList();
        using var generator = new torch.Generator((ulong)seed, model.parameters().First().device);
        var options = new GenerationOptions
        {
            MaxNewTokens = maxNewTokens, Temperature = 1, BatchSize = 64,
            EosTokenIds = tokenizer.EosId is { } eos ? [eos] : [], PadTokenId = PadRule.IdFor(tokenizer),
        };
        var completionIds = TextGenerator.Generate(model, promptIds, options, generator).Select(r => r.Tokens).ToList();
        return new PolicySamples(prompts, promptIds, completionIds, completionIds.Select(c => DecodeCompletion(tokenizer, c)).ToList());
    }
}
