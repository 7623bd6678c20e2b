using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Training;

/// <summary>
/// Data-parallel forwards. Every rank holds the same global batch; rank r runs the model on its contiguous share of
/// the batch's R rows (rows R·r/N .. R·(r+1)/N, padding trimmed to the share's longest row) and receives the other
/// ranks' log-probs by allgather. The objective then sees the whole global batch on every rank, so batch-level
/// statistics (BCO's running mean, β-DPO's margin statistics and sampling, AOT's sorting, KTO's KL estimate) are
/// those of one process with the global batch. Only the local rows carry a graph: each rank's backward gives its
/// rows' part of the global-batch gradient, and <see cref="GradientSync"/> sums the parts.
/// </summary>
public static class DataParallel
{
    /// <summary>Per-row sums and counts (R) of <paramref name="batch"/> (and per-token log-probs when asked), as one process would compute them.</summary>
    public static RowLogProbs Of(CausalLM model, PreferenceBatch batch, Device device, bool perToken, ICollectives comm)
    {
        using var scope = NewDisposeScope();
        long rows = batch.InputIds.shape[0];
        long lo = rows * comm.Rank / comm.Size, hi = rows * (comm.Rank + 1) / comm.Size;
        var parameterType = model.parameters().First().dtype;
        var dtype = parameterType is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : parameterType;
        var scored = batch.CompletionMask[.., 1..].to(ScalarType.Bool); // (R, T-1)
        var scoredCounts = scored.sum(1); // (R)
        long width = rows == 0 ? 0 : scoredCounts.max().item<long>(); // Tc of the whole batch
        RowLogProbs? local = null;
        if (hi > lo)
        {
            long t = batch.AttentionMask.narrow(0, lo, hi - lo).sum(1).max().item<long>(); // the share's longest row
            Tensor Share(Tensor x) => x.narrow(0, lo, hi - lo).narrow(1, 0, t).to(device); // (R, T) -> (n, t)
            local = SequenceLogProbs.Compute(model, Share(batch.InputIds), Share(batch.AttentionMask),
                Share(batch.PositionIds), Share(batch.CompletionMask), perToken: perToken, packed: batch.Packed);
        }
        // A partial last batch may leave a rank without rows (fewer rows than ranks). Its backward must still reach every
        // parameter the others' does (GradientSync sums every gradient), so it runs one row and adds it times zero.
        Tensor? anchor = null;
        if (local is null && rows > 0 && is_grad_enabled())
        {
            long t = batch.AttentionMask.narrow(0, 0, 1).sum(1).max().item<long>();
            Tensor First(Tensor x) => x.narrow(0, 0, 1).narrow(1, 0, t).to(device); // (R, T) -> (1, t)
            var one = SequenceLogProbs.Compute(model, First(batch.InputIds), First(batch.AttentionMask),
                First(batch.PositionIds), First(batch.CompletionMask), perToken: false);
            anchor = one.Sums.sum() * 0; // () with a graph, value 0
        }
        // One gather for both per-row values: (n) sums with graph and (n) detached logit sums -> (n, 2) -> (R, 2).
        var pairs = local is null ? zeros(0, 2, dtype) : stack([local.Sums, local.LogitSums ?? zeros_like(local.Sums)], 1);
        var gathered = Splice(pairs, comm, lo, hi, device); // (R, 2)
        var sums = gathered[.., 0]; // (R)
        if (anchor is not null) sums = sums + anchor;
        var logitSums = gathered[.., 1].detach(); // (R)
        var counts = scoredCounts.to(dtype).to(device); // (R), the same integers the forward counts
        if (!perToken)
            return new RowLogProbs(sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope())
            {
                LogitSums = logitSums.MoveToOuterDisposeScope(),
            };
        var tokens = local?.Tokens ?? zeros(0, width, dtype);
        tokens = F.pad(tokens, [0, width - tokens.shape[1]]); // (n, Tc share) -> (n, Tc)
        var all = Splice(tokens, comm, lo, hi, device); // (R, Tc)
        if (anchor is not null) all = all + anchor;
        var mask = (arange(width).unsqueeze(0) < scoredCounts.unsqueeze(1)).to(dtype).to(device); // (R, Tc)
        return new RowLogProbs(sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope())
        {
            Tokens = all.MoveToOuterDisposeScope(),
            TokenMask = mask.MoveToOuterDisposeScope(),
            LogitSums = logitSums.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>The global rows: other ranks' values (constants) around this rank's rows [lo, hi) (with graph).</summary>
    private static Tensor Splice(Tensor local, ICollectives comm, long lo, long hi, Device device)
    {
        var gathered = comm.AllGather(local.detach().cpu().contiguous()).to(device); // (R, ...)
        if (hi == lo) return gathered;
        return cat([gathered[..(int)lo], local, gathered[(int)hi..]], 0);
    }
}

/// <summary>Sums gradients over ranks after backward, in flattened buckets, so every rank steps with the same gradient.</summary>
public static class GradientSync
{
    /// <summary>
    /// Adds every rank's gradients of <paramref name="parameters"/> in place. Gradients are copied into flat buckets
    /// of at most <paramref name="bucketBytes"/> bytes (float32 for half-precision gradients, so sums are not
    /// rounded to 8 bits per hop), each summed with one allreduce and copied back.
    /// </summary>
    public static void AllReduce(IReadOnlyList<Tensor> parameters, ICollectives comm, long bucketBytes)
    {
        if (comm.Size == 1) return;
        using var _ = no_grad();
        var bucket = new List<Tensor>();
        long bytes = 0;
        ScalarType? type = null;
        foreach (var p in parameters)
        {
            var g = p.grad ?? throw new DistributedException(
                "a trained parameter has no gradient on this rank; every rank must run backward on every step");
            var t = g.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : g.dtype;
            long size = g.numel() * (t == ScalarType.Float64 ? 8 : 4);
            if (bucket.Count > 0 && (t != type || bytes + size > bucketBytes))
            {
                Flush(bucket, type!.Value, comm);
                (bucket, bytes) = ([], 0);
            }
            bucket.Add(g);
            bytes += size;
            type = t;
        }
        if (bucket.Count > 0) Flush(bucket, type!.Value, comm);
    }

    private static void Flush(List<Tensor> grads, ScalarType type, ICollectives comm)
    {
        using var scope = NewDisposeScope();
        var flat = cat(grads.Select(g => g.reshape(-1).to(type).cpu()).ToArray(), 0).contiguous(); // (sum of numels)
        comm.AllReduceSum(flat);
        long offset = 0;
        foreach (var g in grads)
        {
            long n = g.numel();
            g.copy_(flat.narrow(0, offset, n).view_as(g)); // (n) -> g's shape, cast back to g's dtype and device
            offset += n;
        }
    }

    /// <summary>Copies rank <paramref name="root"/>'s values of <paramref name="tensors"/> to every rank.</summary>
    public static void Broadcast(IEnumerable<Tensor> tensors, ICollectives comm, int root = 0)
    {
        if (comm.Size == 1) return;
        using var _ = no_grad();
        foreach (var t in tensors)
        {
            using var scope = NewDisposeScope();
            var host = t.detach().cpu().contiguous().clone(); // a buffer MPI may write
            comm.Broadcast(host, root);
            t.copy_(host);
        }
    }
}
