using AlignSharp.Models;

namespace AlignSharp.Adapters;

/// <summary>Default LoRA targets per family (PEFT's defaults: attention query and value projections).</summary>
public static class LoraDefaults
{
    /// <summary>The modules adapted when <see cref="LoraOptions.TargetModules"/> is null: the family's
    /// <see cref="IModelFamily.DefaultAdapterTargets"/> (GPT-2's fused q|k|v <c>c_attn</c>; q_proj, v_proj elsewhere).</summary>
    public static IReadOnlyList<string> TargetModules(ModelConfig config) => config.Family.DefaultAdapterTargets;
}
