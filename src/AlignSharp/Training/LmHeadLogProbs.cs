using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace AlignSharp.Training;

/// <summary>
/// The LM head fused with log-softmax and the target gather, chunk by chunk, as one autograd function: for scored
/// hidden states h (N, C) and their targets (N) it returns log p(target) (N) and each token's mean logit (N, detached)
/// without ever keeping an (N, V) tensor. The forward keeps only h, the targets and the per-token log-sum-exp (N);
/// backward recomputes each chunk's logits and turns them, in place, into the logits' gradient
/// g (onehot(target) - softmax(logits)), which it back-propagates through the head (so the head's weight, tied or
/// not, and any adapter on it get their gradients, and h gets its own). Peak memory is one chunk's (n, V) logits
/// in the forward and one in backward, with or without gradients (Liger-Kernel's fused linear cross-entropy, with
/// the per-token upstream gradient a preference loss needs). The price is one extra LM-head GEMM per chunk in
/// backward. A plain head (linear(h, W), nothing hooked on it) skips autograd in backward: its weight gradient is
/// added in place into W.grad, in chunks half the forward's, so backward's peak stays below the forward's chunk.
/// </summary>
internal static class LmHeadLogProbs
{
    /// <summary>
    /// Log-probs of <paramref name="targets"/> (N) and the mean logit over the vocabulary (N), both in
    /// <paramref name="dtype"/> (float32 for a half-precision head), from hidden states <paramref name="hidden"/> (N, C)
    /// through <paramref name="head"/> ((n, C) -> (n, V)), <paramref name="chunk"/> rows at a time. With gradients
    /// recorded (and <paramref name="trainable"/>: the head or h needs them) the log-probs carry a graph to h and
    /// the head's parameters. <paramref name="weight"/> (V, C), when given, says the head is exactly linear(h, W) with
    /// nothing else on it (<see cref="Models.CausalLM.PlainHeadWeight"/>): backward then writes W's gradient in place
    /// (one addmm_ per chunk into W.grad) instead of back-propagating through the head.
    /// </summary>
    public static (Tensor LogProbs, Tensor LogitMeans) Compute(Func<Tensor, Tensor> head, Tensor hidden, Tensor targets,
        int chunk, ScalarType dtype, bool trainable, Tensor? weight = null)
    {
        // The plain-weight backward needs the head to be exactly linear(h, W) computed in dtype.
        // Detached from the caller's dispose scope: backward runs after it closes. A module's weight getter may hand out
        // a fresh wrapper (TorchSharp's Embedding does); the wrapper owns no storage, only a reference to the parameter.
        var plain = weight is not null && weight.dtype == dtype && hidden.dtype == dtype ? weight.DetachFromDisposeScope() : null;
        var fused = new FusedHead(head, chunk, dtype, hidden.requires_grad, plain);
        if (!is_grad_enabled() || !(trainable || hidden.requires_grad))
        {
            var (lp, means, lse) = Forward(fused, hidden, targets);
            lse.Dispose();
            return (lp, means);
        }
        // An input without grad (frozen trunk, trainable head) becomes a leaf that asks for one, so backward runs.
        var h = hidden.requires_grad ? hidden : hidden.detach().requires_grad_(true);
        var logProbs = FusedFunction.apply(h, targets, fused);
        return (logProbs, fused.LogitMeans!);
    }

    /// <summary>
    /// The head and how to run it, carried through the autograd context; the forward leaves the (detached) mean logits
    /// here, so the function has one differentiable output.
    /// </summary>
    private sealed record FusedHead(Func<Tensor, Tensor> Head, int Chunk, ScalarType Dtype, bool HiddenNeedsGrad,
        Tensor? Weight)
    {
        /// <summary>
        /// Rows per chunk in backward: half the forward's. Backward holds the head weight's gradient (V x C, as large
        /// as C rows of logits) next to its chunk of logits, so half-size chunks keep its peak at or below the
        /// forward's one chunk of logits for hidden sizes up to Chunk / 2.
        /// </summary>
        public int BackwardChunk => Math.Max(1, Chunk / 2);

        public Tensor? LogitMeans { get; set; }
    }

    /// <summary>
    /// Chunked forward: per chunk, logits (n, V), the target's logit and the mean, then log-sum-exp computed in place
    /// over the logits (max, subtract, exp, sum), so one (n, V) buffer is alive at a time. Returns log-probs, mean
    /// logits and log-sum-exps (N each).
    /// </summary>
    private static (Tensor LogProbs, Tensor LogitMeans, Tensor Lse) Forward(FusedHead f, Tensor h, Tensor targets)
    {
        using var scope = NewDisposeScope();
        long n = h.shape[0];
        var lps = new List<Tensor>();
        var means = new List<Tensor>();
        var lses = new List<Tensor>();
        for (long start = 0; start < n; start += f.Chunk)
        {
            using var chunkScope = NewDisposeScope();
            long len = Math.Min(f.Chunk, n - start);
            using (no_grad())
            {
                var logits = f.Head(h.narrow(0, start, len)).to(f.Dtype); // (n, C) -> (n, V); no copy when already dtype
                var target = logits.gather(1, targets.narrow(0, start, len).unsqueeze(1)).squeeze(1); // (n)
                var mean = logits.mean([1]); // (n, V) -> (n)
                var max = logits.amax([1], keepdim: true); // (n, 1)
                var lse = logits.sub_(max).exp_().sum(1).log_().add_(max.squeeze(1)); // (n); the logits buffer is spent
                lps.Add((target - lse).MoveToOuterDisposeScope());
                means.Add(mean.MoveToOuterDisposeScope());
                lses.Add(lse.MoveToOuterDisposeScope());
            }
        }
        Tensor Cat(List<Tensor> parts) => parts.Count == 0 ? zeros(0, f.Dtype, h.device) : cat(parts, 0);
        return (Cat(lps).MoveToOuterDisposeScope(), Cat(means).MoveToOuterDisposeScope(), Cat(lses).MoveToOuterDisposeScope());
    }

    /// <summary>Forward keeps h, targets and log-sum-exps; backward recomputes logits chunk by chunk.</summary>
    private sealed class FusedFunction : SingleTensorFunction<FusedFunction>
    {
        public override string Name => "AlignSharpLmHeadLogProbs";

        // vars: h (N, C), targets (N), FusedHead
        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var h = (Tensor)vars[0];
            var targets = (Tensor)vars[1];
            var fused = (FusedHead)vars[2];
            // Adapter dropout on the head draws random numbers: backward replays them from this state, as the
            // gradient checkpointing of decoder blocks does.
            using (var rng = torch.get_rng_state()) ctx.save_data("rng", rng.data<byte>().ToArray());
            var (lp, means, lse) = Forward(fused, h, targets);
            ctx.save_for_backward([h, targets, lse]);
            ctx.save_data("head", fused);
            fused.LogitMeans = means;
            return lp;
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var f = (FusedHead)ctx.get_data("head");
            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables();
            Tensor h = saved[0].detach(), targets = saved[1], lse = saved[2];
            var g = gradOutput.to(f.Dtype); // (N): d loss / d log p(target)
            var gradH = f.Weight is not null ? PlainBackward(f, h, targets, lse, g) : GraphBackward(ctx, f, h, targets, lse, g);
            return [gradH?.MoveToOuterDisposeScope()!, null!, null!];
        }

        /// <summary>
        /// Turns one chunk's recomputed logits (n, V), in place, into their gradient g (onehot(target) - softmax):
        /// softmax from the saved log-sum-exp, times -g, plus g at the target.
        /// </summary>
        private static Tensor GradLogits(Tensor logits, Tensor targets, Tensor lse, Tensor g, long start, long len)
        {
            var gc = g.narrow(0, start, len).unsqueeze(1); // (n, 1)
            logits.sub_(lse.narrow(0, start, len).unsqueeze(1)).exp_().mul_(gc.neg());
            return logits.scatter_add_(1, targets.narrow(0, start, len).unsqueeze(1), gc); // (n, V)
        }

        /// <summary>
        /// Head = linear(h, W): per chunk, logits = h W^T, turned in place into their gradient G, then W.grad += G^T h
        /// and grad h = G W, both written in place (addmm_), so no per-chunk (V, C) product is allocated and summed.
        /// W.grad is created (zeros) only when absent; an existing one (gradient accumulation, or the fused AdamW's
        /// flat buffer view) is added to where it lies. A tied weight's other uses (the embedding) still reach W.grad
        /// through autograd, which adds into the existing gradient in place.
        /// </summary>
        private static Tensor? PlainBackward(FusedHead f, Tensor h, Tensor targets, Tensor lse, Tensor g)
        {
            var w = f.Weight!; // (V, C)
            using var _ = no_grad();
            long n = h.shape[0];
            var gradH = f.HiddenNeedsGrad ? empty_like(h) : null; // (N, C), every row written below
            Tensor? gradW = null;
            if (w.requires_grad)
            {
                if (w.grad is null) w.grad = zeros_like(w);
                gradW = w.grad; // (V, C)
            }
            for (long start = 0; start < n; start += f.BackwardChunk)
            {
                using var chunkScope = NewDisposeScope();
                long len = Math.Min(f.BackwardChunk, n - start);
                var hc = h.narrow(0, start, len); // (n, C)
                var gl = GradLogits(nn.functional.linear(hc, w), targets, lse, g, start, len); // (n, C) -> (n, V), as the forward
                gradW?.addmm_(gl.t(), hc); // (V, n) x (n, C)
                gradH?.narrow(0, start, len).addmm_(gl, w, beta: 0); // (n, V) x (V, C); beta 0: the empty rows are ignored
            }
            return gradH;
        }

        /// <summary>
        /// Any other head (an adapter on it, dropout): per chunk, logits with a graph to the head's parameters,
        /// back-propagated with their gradient, so autograd accumulates each parameter's gradient as the unfused
        /// graph would; the forward's random draws are replayed.
        /// </summary>
        private static Tensor? GraphBackward(AutogradContext ctx, FusedHead f, Tensor h, Tensor targets, Tensor lse, Tensor g)
        {
            long n = h.shape[0];
            var gradH = f.HiddenNeedsGrad ? zeros_like(h) : null;
            using var rng = torch.tensor((byte[])ctx.get_data("rng"), ScalarType.Byte);
            using var current = torch.get_rng_state();
            torch.set_rng_state(rng);
            using (torch.enable_grad())
            {
                for (long start = 0; start < n; start += f.Chunk)
                {
                    using var chunkScope = NewDisposeScope();
                    long len = Math.Min(f.Chunk, n - start);
                    var hc = h.narrow(0, start, len).detach().requires_grad_(f.HiddenNeedsGrad); // (n, C)
                    var logits = f.Head(hc); // (n, V), with a graph to the head's parameters (and hc)
                    Tensor gradLogits;
                    using (no_grad())
                    {
                        var buf = logits.detach().to(f.Dtype); // the same storage when the head computes in dtype
                        gradLogits = GradLogits(buf, targets, lse, g, start, len).to(logits.dtype); // (n, V)
                    }
                    // Accumulates the head's parameter gradients (as the unfused graph would) and fills hc.grad.
                    if (logits.requires_grad) logits.backward([gradLogits]);
                    if (gradH is not null && hc.grad is not null) gradH.narrow(0, start, len).copy_(hc.grad!);
                }
            }
            torch.set_rng_state(current);
            return gradH;
        }
    }
}
