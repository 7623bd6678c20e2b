using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace AlignSharp.Models;

/// <summary>
/// Gradient (activation) checkpointing for decoder blocks, opt-in through <see cref="CausalLM.GradientCheckpointing"/>:
/// a checkpointed block keeps only its input during the forward pass and runs its forward again, with grad, during
/// backward. Activation memory drops from every block's intermediates to one block's worth plus each block's input,
/// at the cost of one extra forward per block. TorchSharp has no checkpoint utility, so this is a small custom
/// autograd function.
/// </summary>
public static class Checkpointing
{
    /// <summary>
    /// Runs <c>block(x, constants)</c>, checkpointed when gradients are being recorded and plainly otherwise (no-grad
    /// passes keep no activations anyway). <paramref name="constants"/> are the block's other tensor inputs (masks,
    /// rotary tables); they are kept alive for the recomputation and get no gradient. Random draws (adapter dropout)
    /// repeat exactly: torch's CPU generator state is saved before the forward and replayed for the recomputation, as
    /// PyTorch's checkpoint does. An input without grad (frozen embeddings under an adapter) is made a grad-requiring
    /// leaf, so the block's trainable parameters still get their gradients.
    /// </summary>
    public static Tensor Run(Func<Tensor, Tensor[], Tensor> block, Tensor x, params Tensor[] constants)
    {
        if (!torch.is_grad_enabled()) return block(x, constants);
        if (!x.requires_grad) x = x.detach().requires_grad_(true);
        return CheckpointFunction.apply([x, .. constants, new CheckpointedBlock(block)]);
    }

    /// <summary>The block to re-run, carried through the autograd context.</summary>
    private sealed record CheckpointedBlock(Func<Tensor, Tensor[], Tensor> Forward);

    /// <summary>Forward without keeping activations; backward re-runs the block with grad and back-propagates through it.</summary>
    private sealed class CheckpointFunction : SingleTensorFunction<CheckpointFunction>
    {
        public override string Name => "AlignSharpCheckpoint";

        // vars: x, constants..., CheckpointedBlock
        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var tensors = vars[..^1].Cast<Tensor>().ToList();
            var block = (CheckpointedBlock)vars[^1];
            ctx.save_for_backward(tensors);
            ctx.save_data("block", block);
            using (var rng = torch.get_rng_state()) ctx.save_data("rng", rng.data<byte>().ToArray()); // bytes: kept until backward
            return block.Forward(tensors[0], [.. tensors.Skip(1)]); // Function.apply runs this with autograd off
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var block = (CheckpointedBlock)ctx.get_data("block");
            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables();
            using var grad = torch.enable_grad();
            var input = saved[0].detach().requires_grad_(true);
            using var rng = torch.tensor((byte[])ctx.get_data("rng"), ScalarType.Byte);
            var current = torch.get_rng_state();
            torch.set_rng_state(rng); // the forward's random draws, replayed
            var output = block.Forward(input, [.. saved.Skip(1)]);
            torch.set_rng_state(current);
            // Accumulates the block's parameter gradients as the un-checkpointed graph would, and fills input.grad.
            output.backward([gradOutput]);
            var grads = new List<Tensor> { input.grad!.detach().clone().MoveToOuterDisposeScope() };
            grads.AddRange(Enumerable.Repeat<Tensor>(null!, saved.Count)); // constants (saved.Count - 1) and the block object
            return grads;
        }
    }
}
