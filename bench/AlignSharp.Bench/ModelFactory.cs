using AlignSharp.Models;
using TorchSharp;

namespace AlignSharp.Bench;

/// <summary>Builds a randomly initialised model of a benchmark shape, seeded so two builds have equal weights.</summary>
internal static class ModelFactory
{
    /// <summary>True if this build has the config's family.</summary>
    public static bool Supports(ModelConfig cfg) => ModelFamilies.Find(cfg.ModelType) is not null;

    /// <summary>Seeds torch's generator and builds the family's model.</summary>
    public static CausalLM Create(ModelConfig cfg, long seed)
    {
        if (!Supports(cfg)) throw new BenchException($"model_type '{cfg.ModelType}' is not in this build of AlignSharp yet");
        torch.manual_seed(seed);
        return AlignSharp.Models.ModelFactory.Create(cfg);
    }
}
