using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using static AlignSharp.Tests.Objectives.Pairs;
using static AlignSharp.Tests.Objectives.TokenLevel.TokenBatches;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>The limit-case identities of spec/objectives-tokenlevel.md, one test per identity, plus gradient
/// flow.</summary>
public sealed class TokenLevelLimitTests
{
    private const int B = 5, T = 7;

    private static double[] Dpo(PairStats s, double beta) => Losses(new Dpo(beta), s);

    private static (Side W, Side L) Random(int seed) =>
        (RandomSide(new Random(seed), B, T), RandomSide(new Random(seed + 1000), B, T + 2));

    [Fact]
    public void Step_dpo_is_sequence_dpo_on_the_summed_step_tokens()
    {
        var (w, l) = Random(1);
        AllClose(Dpo(Sums(w, l), 0.4), Losses(Create("step_dpo"), Pair(w, l)), "step_dpo vs dpo");
    }

    [Fact]
    public void Step_dpo_with_the_prefix_in_the_completion_under_a_zero_loss_mask_is_unchanged()
    {
        var (w, l) = Random(2);
        // Three prefix tokens in front of both completions, mask 0 there (they belong to the prompt's steps).
        Side Prefixed(Side s) => new(
            Fill(B, s.T + 3, (r, t) => t < 3 ? -0.5 * (t + 1) : s.Policy[r, t - 3]),
            Fill(B, s.T + 3, (r, t) => t < 3 ? -0.7 * (t + 1) : s.Reference[r, t - 3]),
            Fill(B, s.T + 3, (r, t) => t < 3 ? 0 : s.Mask[r, t - 3]));
        AllClose(Losses(Create("step_dpo"), Pair(w, l)), Losses(Create("step_dpo"), Pair(Prefixed(w), Prefixed(l))), "prefix");
    }

    [Fact]
    public void Step_dpo_without_per_token_inputs_reads_the_completion_sums()
    {
        var (w, l) = Random(3);
        AllClose(Losses(Create("step_dpo"), Pair(w, l)), Losses(Create("step_dpo"), Sums(w, l)), "sums fallback");
    }

    [Fact]
    public void Scdpo_is_dpo_on_the_suffix_sums()
    {
        var (w, l) = Random(4);
        var p = new double[] { 0, 1, 2, 3, 1 };
        var s = Pair(w, l, new() { ["chosen_prefix_lengths"] = V(p), ["rejected_prefix_lengths"] = V(p) });
        bool After(int r, int t) => t >= p[r];
        var dpo = Dpo(Sums(w.PolicySums(After), w.ReferenceSums(After), l.PolicySums(After), l.ReferenceSums(After)), 0.1);
        AllClose(dpo, Losses(Create("scdpo"), s), "scdpo vs suffix dpo");
    }

    [Fact]
    public void Scdpo_with_identical_prefix_log_probs_is_dpo_on_the_full_sums()
    {
        var (w, l) = Random(5);
        const int P = 2;
        // Both completions start with the same two tokens scored identically (real data: the same text and context).
        var lw = new Side(Fill(B, l.T, (r, t) => t < P ? w.Policy[r, t] : l.Policy[r, t]),
            Fill(B, l.T, (r, t) => t < P ? w.Reference[r, t] : l.Reference[r, t]),
            Fill(B, l.T, (r, t) => t < P ? 1 : l.Mask[r, t]));
        var ww = new Side(w.Policy, w.Reference, Fill(B, w.T, (r, t) => t < P ? 1 : w.Mask[r, t]));
        var s = Pair(ww, lw, new() { ["chosen_prefix_lengths"] = V([.. Enumerable.Repeat((double)P, B)]),
            ["rejected_prefix_lengths"] = V([.. Enumerable.Repeat((double)P, B)]) });
        AllClose(Dpo(Sums(ww, lw), 0.1), Losses(Create("scdpo"), s), "scdpo vs full dpo", atol: 1e-12);
    }

    [Fact]
    public void Scdpo_with_zero_prefix_is_naive_dpo()
    {
        var (w, l) = Random(6);
        var zero = V([.. Enumerable.Repeat(0.0, B)]);
        var s = Pair(w, l, new() { ["chosen_prefix_lengths"] = zero, ["rejected_prefix_lengths"] = zero });
        AllClose(Dpo(Sums(w, l), 0.1), Losses(Create("scdpo"), s), "P = 0");
    }

    [Fact]
    public void Sdpo_with_the_whole_completion_as_segment_is_dpo()
    {
        var (w, l) = Random(7);
        var s = Pair(w, l, new() { ["chosen_segment_mask"] = M(w.Mask), ["rejected_segment_mask"] = M(l.Mask) });
        AllClose(Dpo(Sums(w, l), 0.1), Losses(Create("sdpo"), s), "sdpo whole");
    }

    [Fact]
    public void Sdpo_shared_history_tokens_cancel()
    {
        var (w, l) = Random(8);
        const int H = 3; // the first three tokens of both sides are the same history, scored identically
        var lh = new Side(Fill(B, l.T, (r, t) => t < H ? w.Policy[r, t] : l.Policy[r, t]),
            Fill(B, l.T, (r, t) => t < H ? w.Reference[r, t] : l.Reference[r, t]),
            Fill(B, l.T, (r, t) => t < H ? 1 : l.Mask[r, t]));
        var wh = new Side(w.Policy, w.Reference, Fill(B, w.T, (r, t) => t < H ? 1 : w.Mask[r, t]));
        var with = Pair(wh, lh, new() { ["chosen_segment_mask"] = M(wh.Mask), ["rejected_segment_mask"] = M(lh.Mask) });
        var without = Pair(wh, lh, new()
        {
            ["chosen_segment_mask"] = M(Fill(B, wh.T, (r, t) => t < H ? 0 : wh.Mask[r, t])),
            ["rejected_segment_mask"] = M(Fill(B, lh.T, (r, t) => t < H ? 0 : lh.Mask[r, t])),
        });
        AllClose(Losses(Create("sdpo"), without), Losses(Create("sdpo"), with), "history cancels", atol: 1e-12);
    }

    private static PairStats Turns(Side w, Side l, Func<int, int, double> turnW, Func<int, int, double> turnL, double nw, double nl) =>
        Pair(w, l, new()
        {
            ["chosen_turn_ids"] = M(Fill(B, w.T, (r, t) => w.Mask[r, t] == 1 ? turnW(r, t) : -1)),
            ["rejected_turn_ids"] = M(Fill(B, l.T, (r, t) => l.Mask[r, t] == 1 ? turnL(r, t) : -1)),
            ["chosen_num_turns"] = V([.. Enumerable.Repeat(nw, B)]),
            ["rejected_num_turns"] = V([.. Enumerable.Repeat(nl, B)]),
        });

    [Fact]
    public void Dmpo_on_a_single_turn_pair_is_dpo()
    {
        var (w, l) = Random(9);
        var s = Turns(w, l, (_, _) => 0, (_, _) => 0, 1, 1);
        AllClose(Dpo(Sums(w, l), 0.1), Losses(Create("dmpo"), s), "T = 1");
    }

    [Fact]
    public void Dmpo_weight_of_the_first_turn_is_one_whatever_the_turn_count()
    {
        var (w, l) = Random(10);
        var s = Turns(w, l, (_, _) => 0, (_, _) => 0, 4, 3); // only turn 0 labelled, trailing turns truncated
        AllClose(Dpo(Sums(w, l), 0.1), Losses(Create("dmpo", ("gamma", "0.6")), s), "phi(0, T) = 1");
    }

    [Fact]
    public void Dmpo_gamma_towards_one_approaches_the_linear_form()
    {
        var (w, l) = Random(11);
        var s = Turns(w, l, (_, t) => t / 3, (_, t) => t / 2, 3, 5);
        AllClose(Losses(Create("dmpo", ("gamma", "1.0")), s), Losses(Create("dmpo", ("gamma", "0.9999999")), s), "gamma -> 1",
            rtol: 1e-6, atol: 1e-8);
        Assert.NotEqual(Losses(Create("dmpo", ("gamma", "1.0")), s)[0], Losses(Create("dmpo", ("gamma", "0.5")), s)[0]);
    }

    [Fact]
    public void Bmc_with_all_zero_diff_masks_is_dpo()
    {
        var (w, l) = Random(12);
        var s = Pair(w, l, new() { ["chosen_diff_mask"] = zeros(B, w.T, ScalarType.Float64), ["rejected_diff_mask"] = zeros(B, l.T, ScalarType.Float64) });
        AllClose(Dpo(Sums(w, l), 0.1), Losses(Create("bmc"), s), "bmc d = 0");
    }

    [Fact]
    public void Bmc_with_delta_at_most_one_weights_modified_tokens_by_exactly_one_plus_delta()
    {
        var (w, l) = Random(13);
        // exp(-lp) >= 1 >= delta for every log-prob, so min(exp(-lp), delta) = delta: W = (1 + delta) S.
        var s = Pair(w, l, new() { ["chosen_diff_mask"] = M(w.Mask), ["rejected_diff_mask"] = M(l.Mask) });
        AllClose(Dpo(Sums(w, l), 0.1 * 1.7), Losses(Create("bmc", ("delta", "0.7")), s), "1 + delta");
    }

    [Fact]
    public void Bmc_weights_carry_no_gradient()
    {
        var (w, l) = Random(14);
        var s = Pair(w, l, new() { ["chosen_diff_mask"] = M(w.Mask), ["rejected_diff_mask"] = zeros(B, l.T, ScalarType.Float64) });
        var lp = M(w.Policy).requires_grad_(true);
        var extras = new Dictionary<string, Tensor>(s.Extras) { ["policy_chosen_token_logps"] = lp };
        Create("bmc").Compute(s with { Extras = extras }, Train).Losses.sum().backward();
        // dL/dlp[t] = dL/dW * w[t] with w treated as a constant: grad / w is the same for every token of a row.
        var g = lp.grad!.data<double>().ToArray();
        for (int r = 0; r < B; r++)
        {
            var ratios = Enumerable.Range(0, w.T).Where(t => w.Mask[r, t] == 1)
                .Select(t => g[r * w.T + t] / (1 + Math.Min(Math.Exp(-w.Policy[r, t]), 2.0))).ToArray();
            AllClose([.. ratios.Select(_ => ratios[0])], ratios, $"row {r} grad / weight", atol: 1e-14);
        }
    }

    private static PairStats Tree(Side[] responses, double[,,] steps, double[] scores, int h, int seed)
    {
        int n = responses.Length, t = responses[0].T;
        var g = new Generator((ulong)seed, CPU);
        Tensor Stack(Func<Side, double[,]> f) => stack(responses.Select(x => M(f(x))).ToArray(), 1); // N x (B, T) -> (B, N, T)
        return new PairStats(zeros(B, ScalarType.Float64), zeros(B, ScalarType.Float64), null, null,
            ones(B, ScalarType.Float64), ones(B, ScalarType.Float64))
        {
            Extras = new Dictionary<string, Tensor>
            {
                ["policy_token_logps"] = Stack(x => x.Policy), ["reference_token_logps"] = Stack(x => x.Reference),
                ["response_mask"] = Stack(x => x.Mask), ["step_ids"] = tensor(steps.Cast<double>().ToArray(), [B, n, t]),
                ["hidden_states"] = randn([B, n, t, h], ScalarType.Float64, generator: g),
                ["scores"] = tensor(Enumerable.Range(0, B).SelectMany(_ => scores).ToArray(), [B, n]),
            },
        };
    }

    [Fact]
    public void Tpo_pairwise_with_two_one_step_responses_is_sigmoid_norm()
    {
        var rng = new Random(15);
        var a = RandomSide(rng, B, T);
        var b = RandomSide(rng, B, T);
        var steps = new double[B, 2, T];
        for (int r = 0; r < B; r++)
            for (int t = 0; t < T; t++) { steps[r, 0, t] = a.Mask[r, t]; steps[r, 1, t] = b.Mask[r, t]; }
        var s = Tree([a, b], steps, [1.0, 0.0], 4, 15);
        var expected = Losses(Create("sigmoid_norm", ("beta", "0.5")), Sums(a, b));
        AllClose(expected, Losses(Create("tpo"), s), "tpo N = 2, K = 1");
    }

    [Fact]
    public void Tpo_anchor_score_is_the_mean_of_its_step_means()
    {
        var rng = new Random(16);
        var sides = new[] { RandomSide(rng, B, T, minLength: 4), RandomSide(rng, B, T, minLength: 4), RandomSide(rng, B, T, minLength: 4) };
        var steps = new double[B, 3, T];
        for (int r = 0; r < B; r++)
            for (int n = 0; n < 3; n++)
                for (int t = 0; t < T; t++) steps[r, n, t] = sides[n].Mask[r, t] == 1 ? (t < 2 ? 1 : 2) : 0;
        var s = Tree(sides, steps, [3.0, 1.0, 2.0], 4, 16);
        var anchor = Create("tpo").Compute(s, Train).ChosenRewards.data<double>().ToArray(); // beta s(0)
        var a = sides[0];
        var expected = Enumerable.Range(0, B).Select(r =>
        {
            var q = Enumerable.Range(0, T).Where(t => a.Mask[r, t] == 1).Select(t => (t, v: a.Policy[r, t] - a.Reference[r, t])).ToList();
            return 0.5 * (q.Where(x => x.t < 2).Average(x => x.v) + q.Where(x => x.t >= 2).Average(x => x.v)) / 2;
        }).ToArray();
        AllClose(expected, anchor, "beta s(0)");
    }

    [Fact]
    public void Tpo_step_weights_pass_gradient_to_the_hidden_states()
    {
        var rng = new Random(17);
        var sides = new[] { RandomSide(rng, B, T, 3), RandomSide(rng, B, T, 3), RandomSide(rng, B, T, 3) };
        var steps = new double[B, 3, T];
        for (int r = 0; r < B; r++)
            for (int n = 0; n < 3; n++)
                for (int t = 0; t < T; t++) steps[r, n, t] = sides[n].Mask[r, t] == 1 ? 1 + t % 2 : 0;
        var s = Tree(sides, steps, [2.0, 0.0, 1.0], 3, 17);
        var hidden = s.Extras["hidden_states"].requires_grad_(true);
        Create("tpo", ("form", "code")).Compute(s, Train).Losses.sum().backward();
        Assert.True(hidden.grad!.abs().sum().item<double>() > 0);
    }

    [Fact]
    public void Asft_with_beta_one_has_the_closed_form_and_lambda_zero_is_minus_aw()
    {
        var s = Sums([-12, -3.5, -20], [0, 0, 0], [-8, -15, -2.5], [0, 0, 0], [10, 5, 8], [4, 6, 9]);
        double[] aw = [-1.2, -0.7, -2.5], al = [-2, -2.5, -2.5 / 9];
        AllClose([.. aw.Select(a => -a)], Losses(Create("asft", ("lambda", "0")), s), "lambda = 0");
        const double lambda = 0.3;
        var expected = aw.Zip(al, (w, l) => -(1 + lambda) * w - lambda * Math.Log(1 - Math.Exp(l))).ToArray();
        AllClose(expected, Losses(Create("asft", ("lambda", "0.3"), ("beta", "1")), s), "beta = 1 closed form");
    }

    [Fact]
    public void Copg_is_symmetric_in_its_two_samples()
    {
        var s = Sums([-10, -4], [-9, -5], [-7, -12], [-6, -11]) with
        {
            Extras = new Dictionary<string, Tensor> { ["chosen_scores"] = V(0.2, 1.5), ["rejected_scores"] = V(0.9, -0.5) },
        };
        var swapped = new PairStats(s.PolicyRejected, s.PolicyChosen, s.ReferenceRejected, s.ReferenceChosen, s.RejectedLengths,
            s.ChosenLengths) { Extras = new Dictionary<string, Tensor> { ["chosen_scores"] = V(0.9, -0.5), ["rejected_scores"] = V(0.2, 1.5) } };
        AllClose(Losses(Create("copg"), s), Losses(Create("copg"), swapped), "swap");
    }

    [Fact]
    public void Copg_with_reward_gap_one_half_is_half_beta_times_unnormalised_ipo()
    {
        var s = Sums([-10, -4, -30], [-9, -5, -31], [-7, -12, -20], [-6, -11, -25]) with
        {
            Extras = new Dictionary<string, Tensor> { ["chosen_scores"] = V(1, 0.5, 2), ["rejected_scores"] = V(0.5, 0, 1.5) },
        };
        const double beta = 0.3;
        var ipo = Losses(Create("ipo", ("beta", "0.3"), ("length_normalized", "false")), s);
        AllClose([.. ipo.Select(x => beta / 2 * x)], Losses(Create("copg", ("beta", "0.3")), s), "copg vs ipo");
    }

    [Fact]
    public void Ilr_dpo_is_length_regularized_dpo()
    {
        var s = Sums([-10, -4, -30], [-9, -5, -31], [-7, -12, -20], [-6, -11, -25], [10, 4, 12], [3, 9, 12]);
        AllClose(Losses(Create("length_regularized_dpo", ("alpha", "0.07")), s), Losses(Create("ilr_dpo", ("alpha", "0.07")), s), "ilr");
    }

    private static PairStats WithAug(PairStats s, Tensor pw, Tensor rw, Tensor pl, Tensor rl) => s with
    {
        Extras = new Dictionary<string, Tensor>
        {
            ["policy_chosen_logps_aug"] = pw, ["reference_chosen_logps_aug"] = rw,
            ["policy_rejected_logps_aug"] = pl, ["reference_rejected_logps_aug"] = rl,
        },
    };

    [Fact]
    public void Sr_dpo_with_lambda_zero_is_dpo_and_with_unchanged_log_probs_is_dpo_with_beta_times_one_minus_lambda()
    {
        var s = Sums([-10, -4, -30], [-9, -5, -31], [-7, -12, -20], [-6, -11, -25]);
        var aug = WithAug(s, V(-3, -2, -1), V(-4, -1, -2), V(-5, -6, -7), V(-5, -7, -6));
        AllClose(Dpo(s, 0.1), Losses(Create("sr_dpo", ("lambda", "0")), aug), "lambda = 0");
        var same = WithAug(s, s.PolicyChosen, s.ReferenceChosen!, s.PolicyRejected, s.ReferenceRejected!);
        AllClose(Dpo(s, 0.1 * (1 - 0.3)), Losses(Create("sr_dpo", ("lambda", "0.3")), same), "beta (1 - lambda)");
    }

    [Fact]
    public void Sr_ipo_with_lambda_zero_is_unnormalised_ipo()
    {
        var s = WithAug(Sums([-10, -4, -30], [-9, -5, -31], [-7, -12, -20], [-6, -11, -25]),
            V(-3, -2, -1), V(-4, -1, -2), V(-5, -6, -7), V(-5, -7, -6));
        AllClose(Losses(Create("ipo", ("length_normalized", "false")), s), Losses(Create("sr_ipo", ("lambda", "0")), s), "sr_ipo");
    }

    [Fact]
    public void Sr_dpo_refinement_margin_is_stop_gradient()
    {
        var pwAug = V(-3, -2).requires_grad_(true);
        var pw = V(-10, -4).requires_grad_(true);
        var s = WithAug(Sums([0, 0], [-9, -5], [-7, -12], [-6, -11]), pwAug, V(-4, -1), V(-5, -6), V(-5, -7));
        s = s with { PolicyChosen = pw };
        Create("sr_dpo", ("lambda", "0.5")).Compute(s, Train).Losses.sum().backward();
        Assert.True(pwAug.grad is null || pwAug.grad.abs().sum().item<double>() == 0);
        Assert.True(pw.grad!.abs().sum().item<double>() > 0);
    }

    [Fact]
    public void Token_rewards_sum_to_the_dpo_implicit_reward_and_the_last_cumulative_reward_equals_it()
    {
        var (w, _) = Random(18);
        var r = TokenRewards.Compute(M(w.Policy), M(w.Reference), M(w.Mask), 0.2);
        var expected = w.PolicySums().Zip(w.ReferenceSums(), (p, q) => 0.2 * (p - q)).ToArray();
        AllClose(expected, r.SequenceRewards.data<double>().ToArray(), "sequence = beta (pw - rw)");
        var cumulative = r.CumulativeRewards.data<double>().ToArray();
        var last = Enumerable.Range(0, B).Select(row => cumulative[row * T + (int)w.Lengths[row] - 1]).ToArray();
        AllClose(expected, last, "cumulative at the last token");
    }

    private static PairStats Oreo(Side x, double[,] values, double[,] states, double[] rewards) =>
        new(zeros(B, ScalarType.Float64), zeros(B, ScalarType.Float64), null, null, ones(B, ScalarType.Float64), ones(B, ScalarType.Float64))
        {
            Extras = new Dictionary<string, Tensor>
            {
                ["policy_token_logps"] = M(x.Policy), ["reference_token_logps"] = M(x.Reference), ["mask"] = M(x.Mask),
                ["values"] = M(values), ["state_mask"] = M(states), ["rewards"] = V(rewards),
            },
        };

    private static double Tail(Side x, int r, int t) =>
        Enumerable.Range(t, x.T - t).Where(i => x.Mask[r, i] == 1).Sum(i => x.Policy[r, i] - x.Reference[r, i]);

    [Fact]
    public void Oreo_values_satisfying_the_soft_bellman_equation_give_zero()
    {
        var (x, _) = Random(19);
        double[] rewards = [1, 0, 1, 1, 0];
        const double beta = 0.03;
        var values = Fill(B, T, (r, t) => x.Mask[r, t] == 1 ? rewards[r] - beta * Tail(x, r, t) : -99);
        var losses = Losses(Create("oreo", ("kl_reg", "0")), Oreo(x, values, x.Mask, rewards));
        AllClose([.. losses.Select(_ => 0.0)], losses, "optimal values", atol: 1e-15);
    }

    [Fact]
    public void Oreo_with_beta_zero_is_the_state_mean_of_value_error_squared()
    {
        var (x, _) = Random(20);
        double[] rewards = [1, 0, 0, 1, 1];
        var values = Fill(B, T, (r, t) => x.Mask[r, t] == 1 ? 0.1 * t - 0.2 : -99);
        var states = Fill(B, T, (r, t) => x.Mask[r, t] == 1 && t % 2 == 0 ? 1 : 0);
        var expected = Enumerable.Range(0, B).Select(r => Enumerable.Range(0, T).Where(t => states[r, t] == 1)
            .Average(t => Math.Pow(values[r, t] - rewards[r], 2))).ToArray();
        var beta0 = new Oreo(1e-300, 0); // beta must be positive; 1e-300 makes the policy term vanish
        AllClose(expected, Losses(beta0, Oreo(x, values, states, rewards)), "beta -> 0");
    }

    [Fact]
    public void Oreo_actor_differentiates_only_its_own_token_and_not_the_values_while_the_critic_only_the_values()
    {
        var (x, _) = Random(21);
        double[] rewards = [1, 0, 1, 0, 1];
        var s = Oreo(x, Fill(B, T, (r, t) => 0.3), x.Mask, rewards);
        var lp = s.Extras["policy_token_logps"].requires_grad_(true);
        var values = s.Extras["values"].requires_grad_(true);
        var oreo = new Oreo(0.5, 0);
        oreo.Compute(s, Train).Losses.sum().backward();
        Assert.True(values.grad is null || values.grad.abs().sum().item<double>() == 0, "actor: values detached");
        // Token-level states: d/dlp[t] = (2 beta / n) e[t] from state t alone.
        var g = lp.grad!.data<double>().ToArray();
        for (int r = 0; r < B; r++)
        {
            double n = x.Lengths[r];
            for (int t = 0; t < T; t++)
            {
                double expected = x.Mask[r, t] == 1 ? 2 * 0.5 / n * (0.5 * Tail(x, r, t) + 0.3 - rewards[r]) : 0;
                Assert.True(Math.Abs(g[r * T + t] - expected) < 1e-12, $"[{r}, {t}] {g[r * T + t]:R} vs {expected:R}");
            }
        }
        lp.grad!.zero_();
        oreo.CriticLosses(s).sum().backward();
        Assert.Equal(0.0, lp.grad!.abs().sum().item<double>());
        Assert.True(values.grad!.abs().sum().item<double>() > 0);
    }
}
