using AlignSharp.Objectives;
using static AlignSharp.Tests.Objectives.Pairs;

namespace AlignSharp.Tests.Objectives;

/// <summary>Each objective's per-pair value when the policy equals the reference (Identity A of the sources).</summary>
public sealed class ReferenceValueTests
{
    private static readonly double Ln2 = Math.Log(2);

    /// <summary>
    /// Expected value at pi == ref with default parameters. Reference-free objectives see the same statistics: their
    /// value depends on the log-probs themselves, so it is computed from the batch with the table's formula.
    /// </summary>
    private static readonly Dictionary<string, Func<PairStats, int, double>> Expected = new()
    {
        ["dpo"] = (_, _) => Ln2,
        ["cdpo"] = (_, _) => Ln2,
        ["robust_dpo"] = (_, _) => Ln2, // [(1-e) ln2 - e ln2]/(1-2e) = ln2
        ["ipo"] = (_, _) => 1 / (4 * 0.1 * 0.1),
        ["hinge"] = (_, _) => 1,
        ["sigmoid_norm"] = (_, _) => Ln2,
        ["simpo"] = (s, i) => -LogSigmoid(2.0 * (Aw(s, i) - Al(s, i)) - 1.0),
        ["alphapo"] = (s, i) => -LogSigmoid(R(Aw(s, i)) - R(Al(s, i)) - 0.1), // beta 2.5, gamma 0.1
        ["odpo"] = (s, i) => -LogSigmoid(-Math.Log(X(s, "chosen_scores", i) - X(s, "rejected_scores", i))),
        ["dpo_shift"] = (_, _) => Ln2,
        ["length_regularized_dpo"] = (s, i) => -LogSigmoid(0.05 * (X(s, "nw", i) - X(s, "nl", i))),
        ["dpop"] = (_, _) => Ln2,
        ["h_dpo"] = (s, i) => -LogSigmoid(0.1 * (0.9 - 1) * (X(s, "rw", i) - X(s, "rl", i))),
        ["nca"] = (_, _) => 2 * Ln2,
        ["exo"] = (_, _) => 0.5 * Math.Log(0.5 / (1 - 1e-3)) + 0.5 * Math.Log(0.5 / 1e-3),
        ["apo_zero"] = (_, _) => 1,
        ["apo_down"] = (_, _) => 1,
        ["sppo_hard"] = (_, _) => 2 * 25.0, // 2 (0.5/0.1)^2
        ["sppo"] = (s, i) => Math.Pow((X(s, "chosen_win_probs", i) - 0.5) / 0.001, 2) + Math.Pow((X(s, "rejected_win_probs", i) - 0.5) / 0.001, 2),
        ["aot"] = (_, _) => Ln2,
        ["aot_unpaired"] = (_, _) => Ln2,
        ["discopop"] = (_, _) => 0.5 * Ln2 + 0.5, // m = 1/2: half logistic ln 2, half exp(0) = 1
        ["cpo"] = (s, i) => -LogSigmoid(0.1 * (X(s, "pw", i) - X(s, "pl", i))) - Aw(s, i),
        ["dpo_nll"] = (s, i) => Ln2 - Aw(s, i),
        ["orpo"] = (s, i) => -Aw(s, i) - 0.1 * LogSigmoid(Lo(Aw(s, i)) - Lo(Al(s, i))),
        ["relative_po"] = (_, _) => Ln2,
        ["dph_separate"] = (s, i) => Bce(X(s, "chosen_head_rewards", i), 0.9) + Bce(X(s, "rejected_head_rewards", i), 0.1),
        ["dph_contrastive"] = (s, i) =>
            -0.9 * LogSigmoid(X(s, "chosen_head_rewards", i) - X(s, "rejected_head_rewards", i))
            - 0.1 * LogSigmoid(X(s, "rejected_head_rewards", i) - X(s, "chosen_head_rewards", i)),
        ["bco"] = (_, _) => 2 * Ln2, // delta = 0 on a fresh instance at pi == ref
        ["beta_dpo"] = (_, _) => Ln2, // every margin 0: beta_b = beta0, all kept weights equal
        ["kto"] = (s, i) => 0.5 * (1 / (1 + Math.Exp(0.1 * Z0(s))) + 1 / (1 + Math.Exp(-0.1 * Z0(s)))) * 1.0,
        ["sft"] = (s, i) => -Aw(s, i),
    };

    public static TheoryData<string> Ids() => [.. ObjectiveCatalog.All.Select(e => e.Id)];

    [Theory]
    [MemberData(nameof(Ids))]
    public void Value_when_policy_equals_reference(string id)
    {
        Assert.True(Expected.ContainsKey(id), $"no expected value at pi == ref for '{id}'");
        var s = Random(6, seed: 21, policyEqualsReference: true);
        // beta_dpo filtering draws from the generator; at pi == ref every pair has the same loss, so any draw gives ln 2.
        var context = new ObjectiveContext(true, 0, 1, new TorchSharp.torch.Generator(5));
        var actual = Losses(ObjectiveCatalog.Create(id, new ObjectiveParams()), s, context);
        if (id == "beta_dpo") actual = [.. actual.Where(l => l != 0).Select(l => l * actual.Count(x => x != 0) / actual.Length)];
        AllClose([.. actual.Select((_, i) => Expected[id](s, i))], actual, id, rtol: 1e-10, atol: 1e-10);
    }

    [Fact]
    public void Kto_at_the_reference_gives_half_the_weight_per_example()
    {
        // Identity (a) of KTO: pi == ref on every completion, mismatched ones too, so z0 = 0 and each loss is 0.5 lambda.
        var s = Random(5, seed: 4, policyEqualsReference: true);
        var u = UnpairedStats.FromPairs(s, s.PolicyChosen, s.ReferenceChosen!);
        var losses = new Kto(0.1, 1.0, 1.33).Compute(u, Train).Losses.data<double>().ToArray();
        AllClose([.. Enumerable.Repeat(0.5, 5), .. Enumerable.Repeat(0.665, 5)], losses, "kto at pi == ref");
    }

    private static double X(PairStats s, string key, int i) => key switch
    {
        "pw" => s.PolicyChosen.data<double>()[i],
        "pl" => s.PolicyRejected.data<double>()[i],
        "rw" => s.ReferenceChosen!.data<double>()[i],
        "rl" => s.ReferenceRejected!.data<double>()[i],
        "nw" => s.ChosenLengths.data<double>()[i],
        "nl" => s.RejectedLengths.data<double>()[i],
        _ => s.Extras[key].data<double>()[i],
    };

    private static double Aw(PairStats s, int i) => X(s, "pw", i) / X(s, "nw", i);
    private static double Al(PairStats s, int i) => X(s, "pl", i) / X(s, "nl", i);
    private static double R(double a) => -(2.5 / 0.25) * (Math.Exp(-0.25 * a) - 1);
    private static double Lo(double a) => a - Math.Log(1 - Math.Exp(a));
    private static double Bce(double x, double y) => -(y * LogSigmoid(x) + (1 - y) * LogSigmoid(-x));
    private static double Z0(PairStats s) =>
        Math.Max(0, s.Extras["kl_policy_logps"].data<double>().ToArray().Zip(s.Extras["kl_reference_logps"].data<double>().ToArray(), (p, r) => p - r).Average());
}
