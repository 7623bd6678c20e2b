using AlignSharp.Models;

namespace AlignSharp.Adapters;

/// <summary>Default LoRA targets per family (PEFT's defaults: attention query and value projections).</summary>
public static class LoraDefaults
{
    /// <summary>The modules adapted when <see cref="LoraOptions.TargetModules"/> is null.</summary>
    public static IReadOnlyList<string> TargetModules(ModelConfig config) => config.Family switch
    {
        ModelFamily.Gpt2 => ["c_attn"], // fused q|k|v Conv1D
        _ => ["q_proj", "v_proj"],
    };
}
