using AlignSharp.Models;
using AlignSharp.Models.Families;
using TorchSharp;

namespace AlignSharp.Bench;

/// <summary>Builds a randomly initialised model of a benchmark shape, seeded so two builds have equal weights.</summary>
internal static class ModelFactory
{
    /// <summary>True if this build has the config's family.</summary>
    public static bool Supports(ModelConfig cfg) => cfg.Family is ModelFamily.Gpt2 or ModelFamily.Llama;

    /// <summary>Seeds torch's generator and builds the family's model.</summary>
    public static CausalLM Create(ModelConfig cfg, long seed)
    {
        torch.manual_seed(seed);
        return cfg.Family switch
        {
            ModelFamily.Gpt2 => new Gpt2Model(cfg),
            ModelFamily.Llama => new LlamaModel(cfg),
            _ => throw new BenchException($"family {cfg.Family} is not in this build of AlignSharp yet"),
        };
    }
}
