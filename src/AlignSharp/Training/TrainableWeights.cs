using AlignSharp.Models;
using TorchSharp.Modules;

namespace AlignSharp.Training;

/// <summary>
/// What an optimizer step updates and a checkpoint stores: the whole model (<see cref="FullModelWeights"/>), or an
/// adapter on a frozen base (<c>AlignSharp.Adapters.AdapterWeights</c>), whose checkpoints hold the adapter only.
/// </summary>
public interface ITrainableWeights
{
    /// <summary>The trainable parameters by name (1-D ones get no weight decay).</summary>
    IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    /// <summary>Writes the weights into the checkpoint folder <paramref name="dir"/> (created if needed).</summary>
    void Save(string dir);

    /// <summary>Restores the weights saved by <see cref="Save"/> in place, checking every name and shape.</summary>
    void Load(string dir);
}

/// <summary>Full fine-tuning: every parameter of the policy that requires grad; checkpoints are HF folders.</summary>
public sealed class FullModelWeights(CausalLM model) : ITrainableWeights
{
    /// <inheritdoc />
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters =>
        [.. model.named_parameters().Where(p => p.parameter.requires_grad)];

    /// <inheritdoc />
    public void Save(string dir) => ModelWeights.Save(model, dir);

    /// <inheritdoc />
    public void Load(string dir) => ModelWeights.Load(model, dir);
}
