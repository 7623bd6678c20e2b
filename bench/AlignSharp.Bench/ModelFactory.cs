using AlignSharp.Models;
using AlignSharp.Runs;

namespace AlignSharp.Bench;

/// <summary>Builds a randomly initialised model of a benchmark shape, seeded so two builds have equal weights.</summary>
internal static class ModelFactory
{
    /// <summary>True if this build has the config's family.</summary>
    public static bool Supports(ModelConfig cfg) => cfg.Family is ModelFamily.Gpt2 or ModelFamily.Llama;

    /// <summary>The family's model from torch's generator seeded with <paramref name="seed"/>, built by the composition root (CPU, float32).</summary>
    public static CausalLM Create(ModelConfig cfg, long seed) =>
        Supports(cfg) ? RunBuilder.FreshModel(cfg, seed, ComputeTarget.Cpu)
            : throw new BenchException($"family {cfg.Family} is not in this build of AlignSharp yet");
}
