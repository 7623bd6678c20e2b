using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// OREO's value model as a head on the policy's final hidden states: <c>V(s_t) = w·h_{t−1} + b</c>, read from the
/// same hidden row that scores token t (the state just before it). Zero-initialised, so every value starts at 0.
/// </summary>
public sealed class ValueHead : nn.Module<Tensor, Tensor>
{
    private readonly Linear proj;

    /// <summary>A head over hidden states of size <paramref name="hiddenSize"/>.</summary>
    public ValueHead(long hiddenSize, ScalarType dtype = ScalarType.Float32) : base(nameof(ValueHead))
    {
        proj = nn.Linear(hiddenSize, 1, hasBias: true, dtype: dtype);
        using (no_grad())
        {
            proj.weight!.zero_();
            proj.bias!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>Values (…) from hidden states (…, C).</summary>
    public override Tensor forward(Tensor hidden) => proj.forward(hidden).squeeze(-1); // (…, C) -> (…, 1) -> (…)
}
