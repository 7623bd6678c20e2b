namespace AlignSharp.Adapters;

/// <summary>
/// A LoRA adapter's settings, named as PEFT's <c>LoraConfig</c> names them (<c>r</c>, <c>lora_alpha</c>,
/// <c>lora_dropout</c>, <c>target_modules</c>, <c>use_rslora</c>, <c>modules_to_save</c>). Defaults in one place.
/// </summary>
public sealed record LoraOptions
{
    /// <summary>Rank of the update B·A.</summary>
    public int R { get; init; } = 8;

    /// <summary>Numerator of the scaling (PEFT's <c>lora_alpha</c>).</summary>
    public double Alpha { get; init; } = 8;

    /// <summary>Dropout on the adapter's input during training (0 disables it).</summary>
    public double Dropout { get; init; }

    /// <summary>
    /// Module names (a module matches when its path equals the name or ends with "." + name), or null for the
    /// family's defaults.
    /// </summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary>Rank-stabilised scaling alpha / sqrt(r) instead of alpha / r.</summary>
    public bool UseRsLora { get; init; }

    /// <summary>Modules trained in full as a copy (the base keeps the original), saved whole in the adapter file.</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = [];

    /// <summary>The factor applied to B·A·x: alpha / r, or alpha / sqrt(r) with rsLoRA.</summary>
    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(R) : Alpha / R;

    /// <summary>Checks ranges; throws <see cref="AdapterException"/> naming the key at fault.</summary>
    public void Validate()
    {
        if (R <= 0) throw new AdapterException($"adapter.r: must be a positive integer, got {R}");
        if (double.IsNaN(Alpha) || Alpha <= 0) throw new AdapterException($"adapter.alpha: must be positive, got {Alpha}");
        if (double.IsNaN(Dropout) || Dropout is < 0 or >= 1)
            throw new AdapterException($"adapter.dropout: must be in [0, 1), got {Dropout}");
        if (TargetModules is { Count: 0 }) throw new AdapterException("adapter.target_modules: empty list");
    }
}
