using AlignSharp.Objectives;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives;

/// <summary>Extreme log-ratios (|beta h| = 1e4, and huge individual log-ratios) give finite losses and gradients (float64 autograd).</summary>
public sealed class StabilityTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var e in ObjectiveCatalog.All) data.Add(e.Id, "");
        data.Add("dpo", "f_divergence=forward_kl");
        data.Add("dpo", "f_divergence=js");
        data.Add("dpo", "f_divergence=alpha");
        data.Add("dpo", "f_divergence=alpha,f_alpha=1.5");
        data.Add("alphapo", "alpha=-0.5");
        data.Add("discopop", "tau=3");
        data.Add("odpo", "offset_mode=ratio");
        data.Add("dpo_shift", "lambda=0.5");
        data.Add("beta_dpo", "filter_ratio=0.5");
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_and_gradients_stay_finite_at_beta_h_of_1e4(string id, string parameters)
    {
        var ps = parameters.Length == 0 ? [] : parameters.Split(',').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams(ps));
        var beta = ObjectiveCatalog.Get(id).Parameters.OfType<NumberParameter>().FirstOrDefault(p => p.Name == "beta")?.Default ?? 1.0;
        double m = 1e4 / beta; // |beta h| = 1e4
        // Pairs: h = +m, h = -m, both log-ratios hugely negative, both hugely positive; all log-probs <= 0.
        double[] pw = [-1, -1 - m / 2, -m, -1], pl = [-1 - m / 2, -1, -m, -1];
        double[] rw = [-1 - m / 2, -1, 0, -m], rl = [-1, -1 - m / 2, 0, -m];
        var policyChosen = tensor(pw, requires_grad: true);
        var policyRejected = tensor(pl, requires_grad: true);
        var headChosen = tensor(new[] { 1e4, -1e4, 1e4, -1e4 }, requires_grad: true);
        var headRejected = tensor(new[] { -1e4, 1e4, 1e4, -1e4 }, requires_grad: true);
        var extras = new Dictionary<string, Tensor>
        {
            ["chosen_scores"] = tensor(new[] { 2.0, 1e6, 3.0, 1.0 }),
            ["rejected_scores"] = tensor(new[] { 1.0, 1e-6, 2.5, 0.5 }),
            ["chosen_win_probs"] = tensor(new[] { 1.0, 0.0, 0.5, 0.9 }),
            ["rejected_win_probs"] = tensor(new[] { 0.0, 1.0, 0.5, 0.1 }),
            ["prompt_embeddings"] = tensor(new[] { 1.0, 0, 0, 1, 1, 1, -1, 2 }, [4, 2]),
            ["chosen_head_rewards"] = headChosen,
            ["rejected_head_rewards"] = headRejected,
            ["kl_policy_logps"] = tensor(new[] { -1.0, -m }),
            ["kl_reference_logps"] = tensor(new[] { -m, -1.0 }),
        };
        var stats = new PairStats(policyChosen, policyRejected, tensor(rw), tensor(rl), tensor(new[] { 1.0, 1, 1, 1 }), tensor(new[] { 1.0, 1, 1, 1 })) { Extras = extras };
        var output = objective.Compute(stats, new ObjectiveContext(true, 3, 10, new Generator(1)));
        var losses = output.Losses.detach().data<double>().ToArray();
        Assert.True(losses.All(double.IsFinite), $"{id} {parameters}: losses [{string.Join(", ", losses)}]");
        output.Losses.sum().backward();
        foreach (var (name, t) in new[] { ("pw", policyChosen), ("pl", policyRejected), ("qw", headChosen), ("ql", headRejected) })
        {
            if (t.grad is null) continue;
            var g = t.grad.data<double>().ToArray();
            Assert.True(g.All(double.IsFinite), $"{id} {parameters}: d loss / d {name} = [{string.Join(", ", g)}]");
        }
        Assert.True(policyChosen.grad is not null || headChosen.grad is not null, $"{id}: no gradient reached the inputs");
    }
}
