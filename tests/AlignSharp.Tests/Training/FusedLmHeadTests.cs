using AlignSharp.Tests.Adapters;
using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Tests.Training;

/// <summary>
/// <see cref="SequenceLogProbs"/> runs the LM head fused with log-softmax (<c>LmHeadLogProbs</c>): backward recomputes
/// each chunk's logits instead of keeping them. Its log-probs and every parameter gradient must equal those of the
/// unfused graph (LM head on the same scored rows, autograd's log-softmax and gather). Tolerance: the two paths sum
/// the same float32 terms in a different order (the fused one forms softmax from a saved log-sum-exp, autograd from
/// the saved log-softmax), so gradients agree to rounding: |diff| &lt;= 1e-6 + 1e-5 max|grad| per tensor, the bound the
/// gradient-checkpointing tests use. Every compared gradient is checked to be non-zero. Serial: it seeds torch's
/// global generator (adapter dropout draws from it).
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class FusedLmHeadTests
{
    /// <summary>The unfused reference: the pre-fusion path, with autograd keeping each (N, V) log-softmax.</summary>
    private static Tensor Unfused(CausalLM model, Tensor ids, Tensor mask, Tensor completion)
    {
        var hidden = model.ForwardHidden(ids, mask, CausalLM.PositionsFromMask(mask)); // (R, T, C)
        var scored = completion[.., 1..].to(ScalarType.Bool); // (R, T-1)
        var flat = scored.reshape(-1).nonzero().squeeze(1); // (N)
        var h = hidden[.., ..^1, ..].reshape(-1, hidden.shape[2]).index_select(0, flat); // (N, C)
        var targets = ids[.., 1..].reshape(-1).index_select(0, flat); // (N)
        var lp = F.log_softmax(model.LmHead(h), 1).gather(1, targets.unsqueeze(1)).squeeze(1); // (N, V) -> (N)
        var rowOf = flat.div(ids.shape[1] - 1, rounding_mode: RoundingMode.floor);
        return zeros(ids.shape[0]).index_add(0, rowOf, lp, 1); // (R)
    }

    private static (Tensor Ids, Tensor Mask, Tensor Completion) Batch() => (
        tensor(new long[,] { { 3, 14, 15, 92, 65, 35, 0 }, { 8, 9, 79, 32, 38, 46, 26 }, { 43, 38, 32, 79, 50, 28, 0 } }),
        tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 0 }, { 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 0 } }),
        tensor(new float[,] { { 0, 0, 1, 1, 1, 1, 0 }, { 0, 0, 0, 1, 1, 1, 1 }, { 0, 1, 1, 1, 1, 1, 0 } }));

    /// <summary>Row weights (so a row mix-up changes the gradients) applied to the sums, back-propagated.</summary>
    private static (float[] Sums, Dictionary<string, float[]> Grads) Run(CausalLM model,
        IEnumerable<(string Name, Tensor Parameter)> watched, bool fused, int chunk = SequenceLogProbs.DefaultChunk)
    {
        using var scope = NewDisposeScope();
        var named = watched.ToList();
        foreach (var (_, p) in named) p.grad = null;
        torch.manual_seed(123);
        var (ids, mask, completion) = Batch();
        var sums = fused
            ? SequenceLogProbs.Compute(model, ids, mask, CausalLM.PositionsFromMask(mask), completion, chunk).Sums
            : Unfused(model, ids, mask, completion);
        (sums * tensor(new[] { 1f, -0.5f, 2f })).sum().backward();
        return (sums.data<float>().ToArray(), named.ToDictionary(p => p.Name, p => p.Parameter.grad!.data<float>().ToArray()));
    }

    private static void AssertSame((float[] Sums, Dictionary<string, float[]> Grads) expected,
        (float[] Sums, Dictionary<string, float[]> Grads) actual, string what)
    {
        Assert.Equal(expected.Sums, actual.Sums, (a, b) => Math.Abs(a - b) <= 1e-5f);
        Assert.Equal(expected.Grads.Keys.Order(), actual.Grads.Keys.Order());
        foreach (var (name, e) in expected.Grads)
        {
            float worst = e.Zip(actual.Grads[name], (x, y) => Math.Abs(x - y)).Max();
            float scale = e.Max(Math.Abs);
            Assert.True(scale > 0, $"{what} {name}: no gradient reached this parameter");
            Assert.True(worst <= 1e-6f + 1e-5f * scale, $"{what} {name}: largest gradient difference {worst} (max |grad| {scale})");
        }
    }

    /// <summary>Every registered model_type (the tests iterate the registry).</summary>
    public static TheoryData<string> Families => new(ModelFamilies.ModelTypes);

    [Theory]
    [MemberData(nameof(Families))]
    public void Fused_gradients_equal_the_unfused_graph_for_every_family(string family)
    {
        torch.manual_seed(11);
        using var model = ModelFactory.Create(ModelFamilies.ForModelType(family).TinyConfig(family, 96));
        var parameters = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        var expected = Run(model, parameters, fused: false);
        foreach (var chunk in new[] { 1, 5, SequenceLogProbs.DefaultChunk }) // one row per chunk, a ragged last chunk, one chunk
            AssertSame(expected, Run(model, parameters, fused: true, chunk), $"{family} chunk {chunk}");
    }

    [Fact]
    public void A_trainable_head_over_a_frozen_trunk_gets_its_gradient()
    {
        // Hidden states need no grad here, so the fused function must still run backward for the head's weight.
        torch.manual_seed(11);
        using var model = ModelFactory.Create(ModelFamilies.ForModelType("llama").TinyConfig("llama", 96) with { TieWordEmbeddings = false });
        var head = model.named_parameters().Where(p => p.name == "lm_head.weight").Select(p => (p.name, (Tensor)p.parameter)).ToList();
        Assert.Single(head);
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name == "lm_head.weight";
        AssertSame(Run(model, head, fused: false), Run(model, head, fused: true, chunk: 4), "frozen trunk");
    }

    [Theory]
    [MemberData(nameof(LoraAdapterTests.Fixtures), MemberType = typeof(LoraAdapterTests))]
    public void Adapter_gradients_match_with_dropout_replayed(string fixture)
    {
        // LoRA on every Linear/Conv1D the fixture has, dropout 0.3: the fused backward must replay the forward's
        // dropout draws. One chunk, so the unfused head sees the same (N, C) input and draws the same masks.
        using var model = HfCheckpoint.Load(LoraAdapterTests.Fixture(fixture)).Model;
        var targets = LoraAdapter.ModuleNames(model);
        using var g = new Generator(8);
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { R = 4, Alpha = 8, Dropout = 0.3, TargetModules = targets }, g);
        using (no_grad())
            foreach (var p in adapter.NamedParameters.Where(p => p.Name.EndsWith("lora_B.weight"))) p.Parameter.normal_(0, 0.1, g);
        model.train();
        var watched = adapter.NamedParameters.Select(p => (p.Name, (Tensor)p.Parameter)).ToList();
        AssertSame(Run(model, watched, fused: false), Run(model, watched, fused: true), fixture);
        Assert.All(model.parameters(), p => Assert.True(p.grad is null));
    }

    [Theory]
    [InlineData("gpt2", true)]
    [InlineData("llama", false)]
    public void A_plain_head_adds_its_gradient_in_place_into_an_existing_one(string family, bool tied)
    {
        // The plain-weight backward writes W.grad with addmm_: an existing gradient (gradient accumulation, or the fused
        // AdamW's flat-buffer view) must keep its storage and receive old + new, as autograd's accumulation would.
        torch.manual_seed(11);
        using var model = ModelFactory.Create(ModelFamilies.ForModelType(family).TinyConfig(family, 96) with { TieWordEmbeddings = tied });
        var weight = model.PlainHeadWeight;
        Assert.NotNull(weight);
        var parameters = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        var expected = Run(model, parameters, fused: false);
        using var scope = NewDisposeScope();
        long total = parameters.Sum(p => p.Item2.numel());
        var flat = full(total, 0.25f); // (P): one buffer holding every gradient, as the fused AdamW keeps them
        long offset = 0;
        var offsets = new Dictionary<string, long>();
        foreach (var (name, p) in parameters)
        {
            offsets[name] = offset;
            p.grad = flat.narrow(0, offset, p.numel()).view(p.shape);
            offset += p.numel();
        }
        torch.manual_seed(123);
        var (ids, mask, completion) = Batch();
        var sums = SequenceLogProbs.Compute(model, ids, mask, CausalLM.PositionsFromMask(mask), completion, 5).Sums;
        (sums * tensor(new[] { 1f, -0.5f, 2f })).sum().backward();
        // Read back from the buffer, not from p.grad: a gradient written anywhere else would not show here.
        var accumulated = parameters.ToDictionary(p => p.name,
            p => flat.narrow(0, offsets[p.name], p.Item2.numel()).data<float>().Select(x => x - 0.25f).ToArray());
        AssertSame(expected, (sums.data<float>().ToArray(), accumulated), $"{family} accumulated");
    }

    [Fact]
    public void An_adapter_on_the_head_module_makes_the_head_not_plain_until_removed()
    {
        torch.manual_seed(11);
        using var model = ModelFactory.Create(ModelFamilies.ForModelType("llama").TinyConfig("llama", 96) with { TieWordEmbeddings = false });
        Assert.NotNull(model.PlainHeadWeight);
        using (LoraAdapter.Attach(model, new LoraOptions { R = 2, Alpha = 4, TargetModules = ["q_proj"], ModulesToSave = ["lm_head"] }))
            Assert.Null(model.PlainHeadWeight); // the saved copy's hook replaces the head's output
        Assert.NotNull(model.PlainHeadWeight);
    }

    [Theory]
    [InlineData("gpt2", true)]
    [InlineData("llama", true)]
    [InlineData("llama", false)]
    public void A_head_under_a_bfloat16_matmul_is_not_plain(string family, bool tied)
    {
        // The in-place backward recomputes linear(h, W) in W's dtype: a head whose forward casts to bfloat16 must take
        // the autograd path, which replays the cast.
        using var model = ModelFactory.Create(ModelFamilies.ForModelType(family).TinyConfig(family, 96) with { TieWordEmbeddings = tied });
        model.UseMatmulDType(ScalarType.BFloat16, head: false);
        Assert.NotNull(model.PlainHeadWeight);
        model.UseMatmulDType(ScalarType.BFloat16, head: true);
        Assert.Null(model.PlainHeadWeight);
    }

    [Fact]
    public void Without_gradients_the_fused_path_records_no_graph()
    {
        torch.manual_seed(11);
        using var model = ModelFactory.Create(ModelFamilies.ForModelType("gpt2").TinyConfig("gpt2", 96));
        using var scope = NewDisposeScope();
        var (ids, mask, completion) = Batch();
        float[] expected, actual;
        using (no_grad())
        {
            expected = Unfused(model, ids, mask, completion).data<float>().ToArray();
            var rows = SequenceLogProbs.Compute(model, ids, mask, CausalLM.PositionsFromMask(mask), completion, 2);
            Assert.False(rows.Sums.requires_grad);
            actual = rows.Sums.data<float>().ToArray();
        }
        Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) <= 1e-5f);
    }
}
