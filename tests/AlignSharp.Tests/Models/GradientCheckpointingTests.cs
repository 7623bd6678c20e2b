using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Models;

/// <summary>
/// Gradient checkpointing recomputes each decoder block during backward; the log-probs and every parameter gradient
/// must equal those of the ordinary graph (up to float rounding: the no-grad forward may pick other kernels).
/// </summary>
public sealed class GradientCheckpointingTests
{
    private static ModelConfig TinyLlama() => new()
    {
        ModelType = "llama", VocabSize = 96, HiddenSize = 32, NumLayers = 3, NumHeads = 4,
        NumKeyValueHeads = 2, HeadDim = 8, IntermediateSize = 64, MaxPositions = 32, TieWordEmbeddings = false,
    };

    private static CausalLM Build(ModelConfig cfg)
    {
        torch.manual_seed(11);
        return ModelFactory.Create(cfg);
    }

    /// <summary>Weighted completion log-probs of a padded 3-row batch, back-propagated; returns (sums, grads by name).</summary>
    private static (float[] Sums, Dictionary<string, float[]> Grads) Run(CausalLM model)
    {
        using var scope = torch.NewDisposeScope();
        model.zero_grad();
        var ids = torch.tensor(new long[] { 3, 14, 15, 92, 65, 35, 0, 8, 9, 79, 32, 38, 46, 26, 43, 38, 32, 79, 50, 28, 0 }, [3, 7]);
        var mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, [3, 7]);
        var completion = torch.tensor(new float[] { 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0 }, [3, 7]);
        var rows = SequenceLogProbs.Compute(model, ids, mask, CausalLM.PositionsFromMask(mask), completion);
        (rows.Sums * torch.tensor(new[] { 1f, -0.5f, 2f })).sum().backward();
        return (rows.Sums.data<float>().ToArray(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray()));
    }

    /// <summary>Every registered model_type (the tests iterate the registry).</summary>
    public static TheoryData<string> Families => new(ModelFamilies.ModelTypes);

    [Theory]
    [MemberData(nameof(Families))]
    public void CheckpointedGradientsEqualOrdinaryGradients(string family)
    {
        var cfg = ModelFamilies.ForModelType(family).TinyConfig(family, 96);
        using var model = Build(cfg);
        var (plainSums, plainGrads) = Run(model);
        model.GradientCheckpointing = true;
        var (ckptSums, ckptGrads) = Run(model);

        Assert.Equal(plainSums, ckptSums, (a, b) => Math.Abs(a - b) <= 1e-5f);
        Assert.Equal(plainGrads.Keys.Order(), ckptGrads.Keys.Order());
        foreach (var (name, expected) in plainGrads)
        {
            float worst = expected.Zip(ckptGrads[name], (e, a) => Math.Abs(e - a)).Max();
            float scale = expected.Max(Math.Abs);
            Assert.True(worst <= 1e-6f + 1e-5f * scale, $"{family} {name}: largest gradient difference {worst} (max |grad| {scale})");
            Assert.True(scale > 0, $"{family} {name}: no gradient reached this parameter");
        }
    }

    [Fact]
    public void CheckpointingIsOffByDefaultAndLeavesNoGradPassesAlone()
    {
        using var model = Build(TinyLlama());
        Assert.False(model.GradientCheckpointing);
        model.GradientCheckpointing = true;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = torch.tensor(new long[] { 5, 6, 7, 8 }, [1, 4]);
        var mask = torch.ones(1, 4, ScalarType.Int64);
        var hidden = model.ForwardHidden(ids, mask, CausalLM.PositionsFromMask(mask));
        Assert.False(hidden.requires_grad);
        Assert.Equal(new long[] { 1, 4, 32 }, hidden.shape);
    }
}
