namespace AlignSharp.Models;

/// <summary>Builds models from configs through the family registry (<see cref="ModelFamilies"/>).</summary>
public static class ModelFactory
{
    /// <summary>Builds a randomly initialised model for <paramref name="cfg"/> (seed torch's generator first for
    /// reproducibility); the family comes from <see cref="ModelConfig.ModelType"/>.</summary>
    public static CausalLM Create(ModelConfig cfg) => cfg.Family.Create(cfg);
}
