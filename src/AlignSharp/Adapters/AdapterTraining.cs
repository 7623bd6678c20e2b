using AlignSharp.Data;
using AlignSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Adapters;

/// <summary>
/// The trainable part of an adapter run: the adapter's parameters only. Its checkpoints hold the adapter as a PEFT
/// folder (not the base) plus torch's generator state, so adapter dropout resumes with the same masks.
/// </summary>
public sealed class AdapterWeights(LoraAdapter adapter, string? baseModelNameOrPath) : ITrainableWeights
{
    /// <summary>torch's CPU generator state (adapter dropout draws from it), saved beside the adapter.</summary>
    public const string RngFile = "rng_state.bin";

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => adapter.NamedParameters;

    /// <inheritdoc />
    public void Save(string dir)
    {
        PeftAdapterFolder.Save(adapter, dir, baseModelNameOrPath);
        using var rng = torch.get_rng_state();
        File.WriteAllBytes(Path.Combine(dir, RngFile), rng.data<byte>().ToArray()); // inside the checkpoint's temp folder
    }

    /// <inheritdoc />
    public void Load(string dir)
    {
        if (!File.Exists(Path.Combine(dir, PeftAdapterFolder.WeightsFile)))
            throw new AdapterException($"{dir}: not an adapter checkpoint ({PeftAdapterFolder.WeightsFile} missing): "
                + "was it written by a run without an adapter?");
        PeftAdapterFolder.LoadWeights(adapter, dir);
        string rngPath = Path.Combine(dir, RngFile);
        if (!File.Exists(rngPath)) return;
        using var rng = torch.tensor(File.ReadAllBytes(rngPath), ScalarType.Byte);
        torch.set_rng_state(rng);
    }
}

/// <summary>
/// The DPO reference of an adapter run: the policy itself with its adapter disabled, under no_grad. No second copy
/// of the model exists; the disabled model computes the base exactly.
/// </summary>
public sealed class AdapterDisabledReference(LoraAdapter adapter) : IReferenceStrategy
{
    /// <inheritdoc />
    public string Name => "adapter-disabled";

    /// <summary>Reference forwards run so far.</summary>
    public int Forwards { get; private set; }

    /// <inheritdoc />
    public Tensor? LogProbs(PreferenceBatch batch, Device device)
    {
        using var _ = no_grad();
        using var off = adapter.Disable();
        Forwards++;
        return BatchLogProbs.Of(adapter.Model, batch, device).Sums;
    }

    /// <inheritdoc />
    public Tensor? TokenLogProbs(PreferenceBatch batch, Device device)
    {
        using var _ = no_grad();
        using var off = adapter.Disable();
        Forwards++;
        return BatchLogProbs.Of(adapter.Model, batch, device, perToken: true).Tokens;
    }

    /// <summary>The policy belongs to the run; nothing to release.</summary>
    public void Dispose() { }
}
