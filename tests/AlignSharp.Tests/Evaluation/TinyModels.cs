using AlignSharp.Models;
using AlignSharp.Models.Families;
using TorchSharp;

namespace AlignSharp.Tests.Evaluation;

internal static class TinyModels
{
    /// <summary>
    /// A tiny GPT-2 whose tied embedding is scaled by <paramref name="sharpness"/>, so its next-token distributions
    /// are far from uniform (a fresh init with std 0.02 is almost uniform and any two such models have KL ~ 0; with tied embeddings a very large scale makes every model
    /// repeat its last token, which brings the KL back towards 0: about 5 gives KL ~ 0.1 nats at length 3).
    /// </summary>
    public static Gpt2Model Create(int vocab, int seed, double sharpness = 1.0, int hidden = 16, int maxPositions = 32)
    {
        torch.manual_seed(seed);
        var model = new Gpt2Model(ModelConfig.TinyGpt2(vocab, hidden: hidden, layers: 1, heads: 2, maxPositions: maxPositions));
        if (sharpness != 1.0)
        {
            using var noGrad = torch.no_grad();
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith("wte.weight", StringComparison.Ordinal)) p.mul_(sharpness);
        }
        model.eval();
        return model;
    }

    /// <summary>A separate model with the same weights.</summary>
    public static Gpt2Model Clone(Gpt2Model source)
    {
        var copy = new Gpt2Model(source.Config);
        copy.load_state_dict(source.state_dict());
        copy.eval();
        return copy;
    }
}

/// <summary>
/// Test classes that seed torch's process-wide generator (torch.manual_seed) before building models. They run outside
/// the parallel phase, so they never reseed the generator between another test's seed and its model construction.
/// </summary>
[CollectionDefinition("TorchGlobalSeed", DisableParallelization = true)]
public sealed class TorchGlobalSeedCollection;
