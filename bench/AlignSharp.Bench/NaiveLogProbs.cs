using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Bench;

/// <summary>
/// The "before" path kept only for the benchmark: full (R, T, V) logits and log-softmax, then gather and mask,
/// as TRL does by default. AlignSharp itself uses <see cref="Training.SequenceLogProbs"/>.
/// </summary>
internal static class NaiveLogProbs
{
    /// <summary>Completion log-prob sums (R).</summary>
    public static Tensor Compute(CausalLM model, Tensor ids, Tensor mask, Tensor pos, Tensor completion)
    {
        using var scope = NewDisposeScope();
        var logits = model.Logits(ids, mask, pos)[.., ..^1, ..]; // (R, T-1, V)
        var lp = F.log_softmax(logits, -1).gather(2, ids[.., 1..].unsqueeze(2)).squeeze(2); // (R, T-1)
        return (lp * completion[.., 1..]).sum(1).MoveToOuterDisposeScope(); // (R)
    }
}
