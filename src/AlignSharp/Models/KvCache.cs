using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Models;

/// <summary>
/// Keys and values of past positions per layer, (B, KV, S, D) each, for incremental decoding. The cache owns its
/// tensors (they live outside any dispose scope) and frees them on <see cref="Dispose"/>. It is passed explicitly to
/// <see cref="CausalLM.ForwardHidden(Tensor, Tensor, Tensor, KvCache)"/>; models hold no cache state themselves.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] keys;
    private readonly Tensor?[] values;

    /// <summary>An empty cache for a model with <paramref name="layers"/> layers.</summary>
    public KvCache(int layers)
    {
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    /// <summary>Number of cached positions (key slots, padding included).</summary>
    public long Length => keys.Length == 0 || keys[0] is null ? 0 : keys[0]!.shape[2];

    /// <summary>
    /// Appends this step's keys and values (B, KV, T, D) for <paramref name="layer"/> and returns the full (B, KV, S + T, D)
    /// tensors. The returned tensors belong to the cache: callers must not dispose them.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        keys[layer] = Concat(keys[layer], k);
        values[layer] = Concat(values[layer], v);
        return (keys[layer]!, values[layer]!);
    }

    private static Tensor Concat(Tensor? old, Tensor next)
    {
        var full = old is null ? next.detach().clone() : torch.cat([old, next.detach()], 2); // (B, KV, S, D) + (B, KV, T, D) -> (B, KV, S+T, D)
        full.DetachFromDisposeScope();
        old?.Dispose();
        return full;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i]?.Dispose();
            values[i]?.Dispose();
            keys[i] = values[i] = null;
        }
    }
}
