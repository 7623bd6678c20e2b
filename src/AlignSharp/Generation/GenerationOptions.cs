namespace AlignSharp.Generation;

/// <summary>
/// Decoding settings. <see cref="Temperature"/> 0 (the default) is greedy decoding (argmax, lowest id on ties); a
/// positive temperature samples from softmax(logits / T), optionally restricted to the top-k ids and to the smallest
/// set of ids whose probability reaches top-p (nucleus sampling, Holtzman et al. 2020, https://arxiv.org/abs/1904.09751).
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Upper bound on new tokens per row (an EOS token counts and ends the row).</summary>
    public int MaxNewTokens { get; init; } = 64;
    /// <summary>0 = greedy; &gt; 0 = sample at this temperature.</summary>
    public double Temperature { get; init; }
    /// <summary>Keep only the k most likely ids when sampling; 0 = off.</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus threshold in (0, 1]; 1 = off.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>A row stops after producing any of these ids (HF allows several, e.g. Llama 3's end-of-turn and end-of-text).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>Id written into left-padding slots (never attended to).</summary>
    public int PadTokenId { get; init; }
    /// <summary>Prompts decoded together; rows are left-padded to the longest prompt of their batch.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Throws <see cref="GenerationException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new GenerationException($"max_new_tokens must be >= 0 (got {MaxNewTokens})");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new GenerationException($"temperature must be >= 0 (got {Temperature})");
        if (TopK < 0) throw new GenerationException($"top_k must be >= 0 (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) throw new GenerationException($"top_p must be in (0, 1] (got {TopP})");
        if (BatchSize < 1) throw new GenerationException($"batch size must be >= 1 (got {BatchSize})");
    }
}

/// <summary>One row's output: the new tokens (an EOS token, when produced, is the last one).</summary>
public sealed record GenerationResult(int[] Tokens, bool StoppedAtEos);

/// <summary>Invalid generation settings or prompts.</summary>
public sealed class GenerationException(string message) : AlignSharpException(message);
