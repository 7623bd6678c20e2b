using AlignSharp.Objectives;
using static AlignSharp.Tests.Objectives.Pairs;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives;

/// <summary>The limit-case identities of spec/objectives-sources.md, one test per identity.</summary>
public sealed class LimitCaseTests
{
    private static readonly PairStats Batch = Random(7, seed: 11);
    private static double[] Dpo(double beta = 0.1, PairStats? s = null) => Losses(new Dpo(beta), s ?? Batch);

    [Fact]
    public void Dpo_satisfies_L_of_h_minus_L_of_minus_h_equals_minus_beta_h()
    {
        // -ls(z) + ls(-z) = -z for z = beta*h: swapping chosen and rejected flips h.
        var swapped = new PairStats(Batch.PolicyRejected, Batch.PolicyChosen, Batch.ReferenceRejected, Batch.ReferenceChosen, Batch.RejectedLengths, Batch.ChosenLengths);
        var h = ((Batch.PolicyChosen - Batch.ReferenceChosen!) - (Batch.PolicyRejected - Batch.ReferenceRejected!)).data<double>().ToArray();
        var diff = Dpo().Zip(Dpo(s: swapped), (a, b) => a - b).ToArray();
        AllClose([.. h.Select(x => -0.1 * x)], diff, "L(h) - L(-h)", atol: 1e-12);
    }

    [Fact]
    public void Cdpo_with_zero_smoothing_is_dpo() => AllClose(Dpo(), Losses(new Cdpo(0.1, 0), Batch), "cdpo e=0");

    [Fact]
    public void Cdpo_is_minimised_at_beta_h_equal_log_odds_of_one_minus_eps()
    {
        // dL/dz = -(1-e) s(-z) + e s(z) = 0 at z* = log((1-e)/e): the gradient vanishes and neighbours are higher.
        double e = 0.1, beta = 0.5, zStar = Math.Log((1 - e) / e);
        double At(double z) => Losses(new Cdpo(beta, e), Make([z / beta], [0], [0], [0]))[0];
        var pw = tensor(new[] { zStar / beta }, requires_grad: true);
        new Cdpo(beta, e).Compute(new PairStats(pw, V(0), V(0), V(0), V(10), V(10)), Train).Losses.sum().backward();
        Assert.True(Math.Abs(pw.grad!.item<double>()) < 1e-12, $"gradient at z* is {pw.grad!.item<double>()}");
        Assert.True(At(zStar) < At(zStar - 0.01) && At(zStar) < At(zStar + 0.01));
    }

    [Fact]
    public void Cdpo_with_half_smoothing_is_even_in_h()
    {
        var a = Losses(new Cdpo(0.1, 0.5), Make([3], [1], [0], [0]));
        var b = Losses(new Cdpo(0.1, 0.5), Make([1], [3], [0], [0]));
        AllClose(a, b, "cdpo e=0.5 symmetric");
    }

    [Fact]
    public void Robust_dpo_with_zero_noise_is_dpo() => AllClose(Dpo(), Losses(new RobustDpo(0.1, 0), Batch), "robust e=0");

    [Fact]
    public void Robust_dpo_is_unbiased_under_label_flips()
    {
        // (1-e) L(h) + e L(-h) == L_dpo(h): the expected loss over flips at rate e is the clean DPO loss.
        const double e = 0.2;
        var swapped = new PairStats(Batch.PolicyRejected, Batch.PolicyChosen, Batch.ReferenceRejected, Batch.ReferenceChosen, Batch.RejectedLengths, Batch.ChosenLengths);
        var robust = new RobustDpo(0.1, e);
        var mix = Losses(robust, Batch).Zip(Losses(robust, swapped), (a, b) => (1 - e) * a + e * b).ToArray();
        AllClose(Dpo(), mix, "robust unbiasedness", atol: 1e-12);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ipo_is_zero_at_its_minimiser_one_over_two_beta_and_quarter_beta_squared_at_the_reference(bool normalized)
    {
        const double beta = 0.2, target = 1 / (2 * beta);
        // Normalised: cw/nw - cl/nl = target with nw = 4, nl = 5; summed: cw - cl = target.
        var s = normalized ? Make([4 * target], [0], [0], [0], [4], [5]) : Make([target + 1], [1], [0], [0], [4], [5]);
        Assert.Equal(0.0, Losses(new Ipo(beta, normalized), s)[0], 12);
        var atReference = Losses(new Ipo(beta, normalized), Random(5, 3, policyEqualsReference: true));
        AllClose([.. atReference.Select(_ => 1 / (4 * beta * beta))], atReference, "ipo at pi == ref");
    }

    [Fact]
    public void Hinge_is_one_at_zero_margin_and_zero_past_the_margin()
    {
        Assert.Equal(1.0, Losses(new Hinge(0.1), Make([-5], [-5], [-5], [-5]))[0], 12);
        Assert.Equal(0.0, Losses(new Hinge(0.1), Make([10.5], [0], [0], [0]))[0], 12);
    }

    [Fact]
    public void Simpo_is_ln2_when_the_scaled_margin_equals_gamma_and_with_gamma_zero_is_normalised_dpo_with_uniform_reference()
    {
        // beta (aw - al) = gamma: aw = -1, al = -1.5, beta 2, gamma 1.
        Assert.Equal(Math.Log(2), Losses(new SimPo(2, 1), Make([-10], [-30], null, null, [10], [20]))[0], 12);
        // A uniform reference over V tokens has log-prob -n log V: it cancels in cw/nw - cl/nl.
        double logV = Math.Log(50257);
        var s = Random(6, 5);
        var pw = s.PolicyChosen.data<double>().ToArray();
        var pl = s.PolicyRejected.data<double>().ToArray();
        var nw = s.ChosenLengths.data<double>().ToArray();
        var nl = s.RejectedLengths.data<double>().ToArray();
        var uniform = Make(pw, pl, [.. nw.Select(n => -n * logV)], [.. nl.Select(n => -n * logV)], nw, nl);
        AllClose(Losses(new SigmoidNorm(2), uniform), Losses(new SimPo(2, 0), s), "simpo gamma=0", atol: 1e-12, rtol: 1e-10);
    }

    [Fact]
    public void Alphapo_approaches_simpo_as_alpha_goes_to_zero_and_gives_zero_reward_at_zero_average()
    {
        AllClose(Losses(new SimPo(2.5, 1), Batch), Losses(new AlphaPo(2.5, 1, 1e-8), Batch), "alphapo alpha=1e-8", rtol: 1e-6, atol: 1e-9);
        var rewards = new AlphaPo(2.5, 1, 0.7).Compute(Make([0], [-3], null, null), Train);
        Assert.Equal(0.0, rewards.ChosenRewards.item<double>(), 15);
    }

    [Fact]
    public void Odpo_with_zero_alpha_or_unit_score_difference_is_dpo_and_ln2_when_beta_h_equals_the_offset()
    {
        AllClose(Dpo(), Losses(new Odpo(0.1, 0, false), Batch), "odpo alpha=0");
        AllClose(Dpo(), Losses(new Odpo(0.1, 0, true), Batch), "odpo ratio alpha=0");
        var unit = Batch with { Extras = new Dictionary<string, Tensor> { ["chosen_scores"] = V(3, 3, 3, 3, 3, 3, 3), ["rejected_scores"] = V(2, 2, 2, 2, 2, 2, 2) } };
        AllClose(Dpo(), Losses(new Odpo(0.1, 1.0, false), unit), "odpo sw - sl = 1");
        double offset = 0.5 * Math.Log(4.0 / 1.0);
        var s = Make([offset / 0.1], [0], [0], [0]) with { Extras = new Dictionary<string, Tensor> { ["chosen_scores"] = V(4), ["rejected_scores"] = V(1) } };
        Assert.Equal(Math.Log(2), Losses(new Odpo(0.1, 0.5, true), s)[0], 12);
    }

    [Fact]
    public void Dpo_shift_with_lambda_one_is_dpo_and_ln2_at_the_reference_for_any_lambda()
    {
        AllClose(Dpo(), Losses(new DpoShift(0.1, 1.0), Batch), "dpo_shift lambda=1");
        var atReference = Random(5, 9, policyEqualsReference: true);
        foreach (var lambda in new[] { 0.5, 0.75, 1.3 })
            AllClose([.. Enumerable.Repeat(Math.Log(2), 5)], Losses(new DpoShift(0.1, lambda), atReference), $"dpo_shift lambda={lambda}");
    }

    [Fact]
    public void Dpo_shift_schedules_move_lambda_linearly_over_the_optimizer_steps()
    {
        var up = new DpoShift(0.1, 1.0, "increase_linear", 0.75, 1.0);
        var down = new DpoShift(0.1, 1.0, "decrease_linear", 0.75, 1.0);
        Assert.Equal(0.75, up.LambdaAt(new ObjectiveContext(true, 0, 100, null)), 15);
        Assert.Equal(0.925, up.LambdaAt(new ObjectiveContext(true, 70, 100, null)), 15);
        Assert.Equal(1.0, up.LambdaAt(new ObjectiveContext(true, 100, 100, null)), 15);
        Assert.Equal(1.0, down.LambdaAt(new ObjectiveContext(true, 0, 100, null)), 15);
        Assert.Equal(0.825, down.LambdaAt(new ObjectiveContext(true, 70, 100, null)), 15);
        // The scheduled loss at step t equals the fixed loss with lambda_t.
        AllClose(Losses(new DpoShift(0.1, 0.925), Batch), Losses(up, Batch, new ObjectiveContext(true, 70, 100, null)), "schedule vs fixed");
    }

    [Fact]
    public void Dpo_shift_with_lambda_below_one_is_not_invariant_to_a_common_log_ratio_shift()
    {
        var shifted = Batch with { PolicyChosen = Batch.PolicyChosen + 3, PolicyRejected = Batch.PolicyRejected + 3 };
        Assert.NotEqual(Losses(new DpoShift(0.1, 0.7), Batch)[0], Losses(new DpoShift(0.1, 0.7), shifted)[0], 6);
        AllClose(Dpo(), Dpo(s: shifted), "dpo is invariant", atol: 1e-12, rtol: 1e-10);
    }

    [Fact]
    public void Length_regularized_dpo_with_zero_alpha_is_dpo() => AllClose(Dpo(), Losses(new LengthRegularizedDpo(0.1, 0), Batch), "r-dpo alpha=0");

    [Fact]
    public void Dpop_with_zero_lambda_or_chosen_above_reference_is_dpo_and_grows_with_lambda()
    {
        AllClose(Dpo(), Losses(new Dpop(0.1, 0), Batch), "dpop lambda=0");
        var above = Make([-4, -9], [-20, -5], [-5, -10], [-18, -6]); // pw >= rw everywhere
        AllClose(Dpo(s: above), Losses(new Dpop(0.1, 50), above), "dpop with pw >= rw");
        var below = Make([-6], [-20], [-5], [-18]);
        double previous = 0;
        foreach (var lambda in new[] { 0.0, 1, 5, 50, 500 })
        {
            double l = Losses(new Dpop(0.1, lambda), below)[0];
            Assert.True(l >= previous, $"dpop loss decreased at lambda {lambda}");
            previous = l;
        }
    }

    [Fact]
    public void H_dpo_with_alpha_one_is_dpo_and_off_ln2_at_the_reference_otherwise()
    {
        AllClose(Dpo(), Losses(new HDpo(0.1, 1.0), Batch), "h_dpo alpha=1");
        // pi == ref: the logit is beta (alpha - 1)(rw - rl).
        var s = Make([-10], [-30], [-10], [-30]);
        Assert.Equal(-LogSigmoid(0.1 * (0.9 - 1) * 20), Losses(new HDpo(0.1, 0.9), s)[0], 12);
    }

    [Fact]
    public void Exo_is_nonnegative_and_zero_at_the_cdpo_minimiser()
    {
        const double e = 0.01, beta = 0.5;
        double zStar = Math.Log((1 - e) / e);
        Assert.Equal(0.0, Losses(new Exo(beta, e), Make([zStar / beta], [0], [0], [0]))[0], 12);
        Assert.All(Losses(new Exo(0.1, e), Batch), l => Assert.True(l >= -1e-15));
    }

    [Fact]
    public void Sppo_hard_and_sppo_vanish_at_their_targets()
    {
        const double beta = 0.1;
        Assert.Equal(0.0, Losses(new SppoHard(beta), Make([5], [-5], [0], [0]))[0], 12);
        var s = Make([0.3 / beta], [-0.2 / beta], [0], [0]) with { Extras = new Dictionary<string, Tensor> { ["chosen_win_probs"] = V(0.8), ["rejected_win_probs"] = V(0.3) } };
        Assert.Equal(0.0, Losses(new Sppo(beta), s)[0], 10);
        var half = Random(4, 2, policyEqualsReference: true) with
        { Extras = new Dictionary<string, Tensor> { ["chosen_win_probs"] = V(0.5, 0.5, 0.5, 0.5), ["rejected_win_probs"] = V(0.5, 0.5, 0.5, 0.5) } };
        AllClose([0, 0, 0, 0], Losses(new Sppo(beta), half), "sppo P = 1/2 at pi == ref");
    }

    [Fact]
    public void Aot_on_a_single_pair_is_cdpo_and_its_mean_ignores_batch_order()
    {
        var one = Make([-3], [-9], [-4], [-7]);
        AllClose(Losses(new Cdpo(0.1, 0.1), one), Losses(new Aot(0.1, 0.1), one), "aot B=1");
        AllClose(Losses(new Cdpo(0.1, 0.1), one), Losses(new AotUnpaired(0.1, 0.1), one), "aot_unpaired B=1");
        var perm = tensor(new long[] { 3, 0, 6, 1, 5, 2, 4 });
        var permuted = new PairStats(Batch.PolicyChosen[perm], Batch.PolicyRejected[perm], Batch.ReferenceChosen![perm], Batch.ReferenceRejected![perm], Batch.ChosenLengths[perm], Batch.RejectedLengths[perm]);
        foreach (var o in new IPreferenceObjective[] { new Aot(0.1, 0), new AotUnpaired(0.1, 0) })
            Assert.Equal(Losses(o, Batch).Average(), Losses(o, permuted).Average(), 12);
    }

    [Fact]
    public void Cpo_with_zero_alpha_is_dpo_with_a_uniform_reference_and_orpo_with_zero_lambda_is_sft()
    {
        var noReference = Batch with { ReferenceChosen = V(0, 0, 0, 0, 0, 0, 0), ReferenceRejected = V(0, 0, 0, 0, 0, 0, 0) };
        AllClose(Dpo(s: noReference), Losses(new Cpo(0.1, 0), Batch), "cpo alpha=0");
        AllClose(Losses(new Sft(), Batch), Losses(new Orpo(0), Batch), "orpo lambda=0");
        AllClose(Dpo(), Losses(new DpoNll(0.1, 0), Batch), "dpo_nll alpha=0");
        // Equal averages: the odds-ratio term is lambda ln 2.
        Assert.Equal(1.0 + 0.1 * Math.Log(2), Losses(new Orpo(0.1), Make([-10], [-20], null, null, [10], [20]))[0], 12);
    }

    [Fact]
    public void Relative_po_on_a_single_pair_is_dpo()
    {
        var one = Make([-3], [-9], [-4], [-7]) with { Extras = new Dictionary<string, Tensor> { ["prompt_embeddings"] = tensor(new double[] { 0.3, -1, 2 }, [1, 3]) } };
        AllClose(Dpo(s: one), Losses(new RelativePo(0.1, 0.5), one), "relative_po B=1");
    }

    [Fact]
    public void Dph_values_at_zero_rewards_and_contrastive_shift_invariance()
    {
        var zero = Make([0], [0], null, null) with { Extras = new Dictionary<string, Tensor> { ["chosen_head_rewards"] = V(0), ["rejected_head_rewards"] = V(0) } };
        Assert.Equal(2 * Math.Log(2), Losses(new DphSeparate(0.1), zero)[0], 12);
        Assert.Equal(Math.Log(2), Losses(new DphContrastive(0.3), zero)[0], 12);
        var a = Make([0], [0], null, null) with { Extras = new Dictionary<string, Tensor> { ["chosen_head_rewards"] = V(1.5), ["rejected_head_rewards"] = V(-0.5) } };
        var b = Make([0], [0], null, null) with { Extras = new Dictionary<string, Tensor> { ["chosen_head_rewards"] = V(11.5), ["rejected_head_rewards"] = V(9.5) } };
        Assert.Equal(Losses(new DphContrastive(0.1), a)[0], Losses(new DphContrastive(0.1), b)[0], 12);
        Assert.Equal(-LogSigmoid(2.0), Losses(new DphContrastive(0), a)[0], 12); // DPO form with beta = 1, no reference
    }

    [Fact]
    public void Bco_delta_after_the_first_training_batch_is_that_batch_mean_reward()
    {
        var bco = new Bco(0.1);
        var output = bco.Compute(Batch, Train);
        double mean = cat([output.ChosenRewards, output.RejectedRewards]).mean().item<double>();
        Assert.True(Math.Abs(bco.Delta - mean) <= 1e-12 * Math.Abs(mean), $"delta {bco.Delta} vs batch mean {mean}");
    }

    [Fact]
    public void Beta_dpo_with_zero_alpha_and_no_filtering_is_dpo_with_beta0()
    {
        var o = new BetaDpo(0.1, 0, 0, 0.9);
        AllClose(Dpo(), Losses(o, Batch), "beta_dpo step 1");
        AllClose(Dpo(), Losses(o, Batch), "beta_dpo step 2");
    }

    [Fact]
    public void Kto_losses_lie_between_zero_and_the_weight()
    {
        var kto = new Kto(0.5, 1.0, 1.33);
        var u = UnpairedStats.FromPairs(Batch, Batch.Extras["kl_policy_logps"], Batch.Extras["kl_reference_logps"]);
        var losses = kto.Compute(u, Train).Losses.data<double>().ToArray();
        for (int i = 0; i < losses.Length; i++)
        {
            double w = i < 7 ? 1.0 : 1.33;
            Assert.True(losses[i] > 0 && losses[i] < w, $"example {i}: {losses[i]}");
        }
    }

    [Fact]
    public void Paired_kto_is_the_mean_of_its_two_unpaired_examples()
    {
        var kto = new Kto(0.1);
        var u = UnpairedStats.FromPairs(Batch, Batch.Extras["kl_policy_logps"], Batch.Extras["kl_reference_logps"]);
        var unpaired = kto.Compute(u, Train).Losses.data<double>().ToArray();
        var paired = Losses(kto, Batch);
        AllClose([.. Enumerable.Range(0, 7).Select(i => (unpaired[i] + unpaired[i + 7]) / 2)], paired, "paired kto");
        Assert.Equal([3, 0, 1, 2], UnpairedStats.MismatchedOrder(4));
    }
}
