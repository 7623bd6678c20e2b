using AlignSharp.Models.Families;

namespace AlignSharp.Models;

/// <summary>The one place that maps a <see cref="ModelFamily"/> to its model class.</summary>
public static class ModelFactory
{
    /// <summary>Builds a randomly initialised model for <paramref name="cfg"/> (seed torch's generator first for reproducibility).</summary>
    public static CausalLM Create(ModelConfig cfg) => cfg.Family switch
    {
        ModelFamily.Gpt2 => new Gpt2Model(cfg),
        ModelFamily.Llama => new LlamaModel(cfg),
        _ => throw new ArgumentOutOfRangeException(nameof(cfg), cfg.Family, "unknown model family"),
    };
}
