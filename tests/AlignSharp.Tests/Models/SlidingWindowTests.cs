using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Models;

public sealed class SlidingWindowTests
{
    [Fact]
    public void Mistral_window_changes_only_positions_past_the_window_and_the_cache_path_agrees()
    {
        torch.manual_seed(5);
        var full = ModelConfig.TinyLlama(40, hidden: 16, layers: 2, heads: 4, kvHeads: 2) with { ModelType = "mistral" };
        using var a = ModelFactory.Create(full);
        using var b = ModelFactory.Create(full with { SlidingWindow = 3 });
        using (torch.no_grad())
            foreach (var (name, p) in b.named_parameters()) p.copy_(a.state_dict()[name]);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var ids = torch.randint(0, 40, [2, 8]);
        var mask = torch.ones_like(ids);
        var pos = CausalLM.PositionsFromMask(mask);
        var ha = a.ForwardHidden(ids, mask, pos);
        var hb = b.ForwardHidden(ids, mask, pos);
        // Positions 0..2 see at most 3 keys either way; from position 3 on the window drops keys.
        Assert.True((ha[.., ..3] - hb[.., ..3]).abs().max().item<float>() < 1e-6);
        Assert.True((ha[.., 3..] - hb[.., 3..]).abs().amax([1, 2]).min().item<float>() > 1e-4);
        using var cache = b.NewCache();
        var parts = new List<Tensor> { b.ForwardHidden(ids[.., ..4], mask[.., ..4], pos[.., ..4], cache) };
        for (int t = 4; t < 8; t++) parts.Add(b.ForwardHidden(ids[.., t..(t + 1)], mask[.., ..(t + 1)], pos[.., t..(t + 1)], cache));
        Assert.True((torch.cat(parts, 1) - hb).abs().max().item<float>() < 1e-5);
    }
}
