using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Adapters;

/// <summary>The adapter pieces of a run, for the code that builds runs: the adapter itself and its reference.</summary>
public static class AdapterRun
{
    /// <summary>
    /// Attaches the run's adapter to <paramref name="policy"/>: loaded from <paramref name="path"/> (an adapter folder,
    /// ours or PEFT's, whose settings win) or fresh, with A drawn from a generator seeded with <paramref name="seed"/>.
    /// torch's global generator is seeded too, so adapter dropout is reproducible.
    /// </summary>
    public static LoraAdapter Attach(CausalLM policy, LoraOptions options, string? path, long seed)
    {
        torch.manual_seed(seed);
        if (path is not null) return PeftAdapterFolder.Load(policy, path);
        using var g = new torch.Generator((ulong)seed);
        return LoraAdapter.Attach(policy, options, g);
    }

    /// <summary>
    /// The reference of an adapter run without a separate reference folder: the policy with its adapter disabled, run
    /// every step (<paramref name="cached"/> false) or computed once into the on-disk cache keyed by the base weights.
    /// Neither keeps a second copy of the model.
    /// </summary>
    public static IReferenceStrategy Reference(LoraAdapter adapter, bool cached, string cacheRoot) =>
        cached ? new CachedReference(adapter.Model, cacheRoot, adapter.Disable) : new AdapterDisabledReference(adapter);
}
