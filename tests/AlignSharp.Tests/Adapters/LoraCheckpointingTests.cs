using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Adapters;

/// <summary>
/// Gradient checkpointing under an adapter: the frozen embedding output needs no grad, yet the adapters inside each
/// checkpointed block must get the gradients of the ordinary graph, with the same dropout masks replayed.
/// Serial: it seeds torch's global generator (dropout draws from it).
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class LoraCheckpointingTests
{
    private static Dictionary<string, float[]> Grads(CausalLM model, LoraAdapter adapter)
    {
        using var scope = NewDisposeScope();
        foreach (var (_, p) in adapter.NamedParameters) p.grad = null;
        torch.manual_seed(123);
        var ids = tensor(new long[,] { { 3, 14, 15, 92, 65, 35, 0 }, { 8, 9, 79, 32, 38, 46, 26 } });
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 0 }, { 1, 1, 1, 1, 1, 1, 1 } });
        var completion = tensor(new float[,] { { 0, 0, 1, 1, 1, 1, 0 }, { 0, 0, 0, 1, 1, 1, 1 } });
        var rows = SequenceLogProbs.Compute(model, ids, mask, CausalLM.PositionsFromMask(mask), completion);
        (rows.Sums * tensor(new[] { 1f, -0.5f })).sum().backward();
        return adapter.NamedParameters.ToDictionary(p => p.Name, p => p.Parameter.grad!.data<float>().ToArray());
    }

    [Theory]
    [MemberData(nameof(LoraAdapterTests.Fixtures), MemberType = typeof(LoraAdapterTests))]
    public void Checkpointed_adapter_gradients_equal_ordinary_ones_with_dropout(string fixture)
    {
        using var model = HfCheckpoint.Load(LoraAdapterTests.Fixture(fixture)).Model;
        using var g = new Generator(8);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8, Dropout = 0.3 }, g);
        using (no_grad())
            foreach (var p in adapter.NamedParameters.Where(p => p.Name.EndsWith("lora_B.weight"))) p.Parameter.normal_(0, 0.1, g);
        model.train();
        var plain = Grads(model, adapter);
        model.GradientCheckpointing = true;
        var ckpt = Grads(model, adapter);
        foreach (var (name, expected) in plain)
        {
            float worst = expected.Zip(ckpt[name], (e, a) => Math.Abs(e - a)).Max();
            float scale = expected.Max(Math.Abs);
            Assert.True(scale > 0, $"{name}: no gradient");
            Assert.True(worst <= 1e-6f + 1e-5f * scale, $"{name}: largest gradient difference {worst} (max |grad| {scale})");
        }
        Assert.All(model.parameters(), p => Assert.True(p.grad is null));
    }
}
