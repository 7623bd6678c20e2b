using AlignSharp.Models;
using static TorchSharp.torch;

namespace AlignSharp.Online;

/// <summary>
/// Moves the reference toward the policy (TR-DPO, Gorbatovski et al. 2024, https://arxiv.org/abs/2404.09656):
/// <c>ref = alpha * policy + (1 - alpha) * ref</c> for every parameter; alpha 1 is a hard copy.
/// </summary>
public static class ReferenceSync
{
    /// <summary>Blends <paramref name="policy"/> into <paramref name="reference"/> in place.</summary>
    public static void Blend(CausalLM reference, CausalLM policy, double alpha)
    {
        using var _ = no_grad();
        var target = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in policy.named_parameters())
        {
            var r = target.TryGetValue(name, out var t) ? t
                : throw new OnlineException($"reference has no parameter '{name}' (policy and reference differ)");
            if (alpha >= 1) r.copy_(p);
            else r.mul_(1 - alpha).add_(p.detach(), alpha);
        }
    }
}
