namespace AlignSharp.Data;

/// <summary>Which end of an over-long prompt is kept.</summary>
public enum TruncationMode
{
    /// <summary>Keep the prompt's last tokens (the turns nearest the answer); TRL's default.</summary>
    KeepEnd,
    /// <summary>Keep the prompt's first tokens.</summary>
    KeepStart,
}

/// <summary>
/// Sequence-length limits with TRL's semantics: when prompt + the longer completion exceeds <see cref="MaxLength"/>,
/// the prompt is first cut to <see cref="MaxPromptLength"/> (BOS counted, kept; <see cref="PromptTruncation"/> picks the
/// end kept), then both completions are cut to the room left. A pair whose prompt still leaves no room for one
/// completion token is reported as too long.
/// </summary>
public sealed record TokenizationOptions(int MaxLength = 1024, int? MaxPromptLength = null, TruncationMode PromptTruncation = TruncationMode.KeepEnd)
{
    /// <summary>The settings as a stable string (part of cache keys).</summary>
    public string CacheKey => $"max_length={MaxLength};max_prompt_length={MaxPromptLength?.ToString() ?? "none"};truncation={PromptTruncation}";

    /// <summary>TRL's default proportions: max_prompt_length = max_length / 2, keep_end.</summary>
    public static TokenizationOptions WithHalfPrompt(int maxLength) => new(maxLength, Math.Max(1, maxLength / 2));

    /// <summary>Parses keep_start / keep_end.</summary>
    public static TruncationMode ParseMode(string name) => name.Replace("_", "").ToLowerInvariant() switch
    {
        "keepend" => TruncationMode.KeepEnd,
        "keepstart" => TruncationMode.KeepStart,
        _ => throw new ArgumentException($"unknown truncation mode '{name}' (expected keep_start or keep_end)"),
    };
}
