using AlignSharp.Models;
using AlignSharp.Runs;

namespace AlignSharp.Bench;

/// <summary>Builds a randomly initialised model of a benchmark shape, seeded so two builds have equal weights.</summary>
internal static class ModelFactory
{
    /// <summary>True if this build has the config's family.</summary>
    public static bool Supports(ModelConfig cfg) => ModelFamilies.Find(cfg.ModelType) is not null;

    /// <summary>The family's model from torch's generator seeded with <paramref name="seed"/>, built by the composition root (CPU, float32).</summary>
    public static CausalLM Create(ModelConfig cfg, long seed) =>
        Supports(cfg) ? RunBuilder.FreshModel(cfg, seed, ComputeTarget.Cpu)
            : throw new BenchException($"model_type '{cfg.ModelType}' is not in this build of AlignSharp yet");
}
