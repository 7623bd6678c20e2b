using AlignSharp.Objectives;
using static AlignSharp.Tests.Objectives.Pairs;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives;

/// <summary>Missing or invalid inputs and parameters are one clear error naming the objective, key and pair, never a NaN.</summary>
public sealed class InputValidationTests
{
    private static PairStats WithExtras(params (string Key, Tensor Value)[] extras) =>
        Make([-3, -4, -5], [-6, -7, -8], [-3, -4, -5], [-6, -7, -8]) with { Extras = extras.ToDictionary(e => e.Key, e => e.Value) };

    private static void Fails(IPreferenceObjective o, PairStats s, params string[] fragments)
    {
        var e = Assert.Throws<ObjectiveException>(() => o.Compute(s, Train));
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    [Fact]
    public void Odpo_with_chosen_score_not_above_rejected_names_the_pair() =>
        Fails(new Odpo(0.1, 1, false), WithExtras(("chosen_scores", V(3, 2, 5)), ("rejected_scores", V(1, 2, 4))),
            "'odpo'", "chosen_scores", "rejected_scores", "pair 1");

    [Fact]
    public void Odpo_ratio_mode_with_non_positive_scores_names_the_pair() =>
        Fails(new Odpo(0.1, 1, true), WithExtras(("chosen_scores", V(3, 2, 5)), ("rejected_scores", V(1, 1, -4))),
            "'odpo'", "positive", "pair 2");

    [Fact]
    public void Missing_extra_names_the_objective_the_key_and_its_dataset_column()
    {
        Fails(new Odpo(0.1, 1, false), WithExtras(("chosen_scores", V(3, 2, 5))), "'odpo'", "'rejected_scores'", "'rejected_score'");
        Fails(new RelativePo(0.1, 0.5), WithExtras(), "'relative_po'", "'prompt_embeddings'");
        Fails(new Kto(0.1), WithExtras(), "'kto'", "'kl_policy_logps'");
        Fails(new DphSeparate(0.1), WithExtras(("chosen_head_rewards", V(1, 2, 3))), "'dph_separate'", "'rejected_head_rewards'");
    }

    [Fact]
    public void Dataset_column_names_are_accepted_for_dataset_inputs()
    {
        var byKey = WithExtras(("chosen_scores", V(3, 2, 5)), ("rejected_scores", V(1, 1, 4)));
        var byColumn = WithExtras(("chosen_score", V(3, 2, 5)), ("rejected_score", V(1, 1, 4)));
        Assert.Equal(Losses(new Odpo(0.1, 1, false), byKey), Losses(new Odpo(0.1, 1, false), byColumn));
    }

    [Fact]
    public void Non_finite_or_misshapen_extras_are_errors()
    {
        Fails(new Odpo(0.1, 1, false), WithExtras(("chosen_scores", V(3, double.NaN, 5)), ("rejected_scores", V(1, 1, 4))), "chosen_scores", "pair 1", "not finite");
        Fails(new Odpo(0.1, 1, false), WithExtras(("chosen_scores", V(3, 5)), ("rejected_scores", V(1, 1, 4))), "chosen_scores", "shape (3)");
        Fails(new Sppo(0.001), WithExtras(("chosen_win_probs", V(0.5, 1.2, 0)), ("rejected_win_probs", V(0.5, 0.5, 0.5))), "'sppo'", "chosen_win_probs", "pair 1", "[0, 1]");
        Fails(new RelativePo(0.1, 0.5), WithExtras(("prompt_embeddings", tensor(new double[] { 1, 0, 0, 0, 0, 1 }, [3, 2]))), "'relative_po'", "prompt_embeddings", "pair 1", "non-zero");
        Fails(new RelativePo(0.1, 0.5), WithExtras(("prompt_embeddings", V(1, 2, 3))), "'relative_po'", "(3, E)");
    }

    [Fact]
    public void Non_positive_lengths_are_errors_for_length_normalised_objectives() =>
        Fails(new SimPo(2, 1), Make([-3, -4], [-6, -7], null, null, [5, 0], [4, 4]), "'simpo'", "chosen_lengths", "pair 1", "positive");

    [Fact]
    public void Reference_objectives_need_reference_log_probs_and_reference_free_ones_do_not()
    {
        var noReference = Make([-3, -4], [-6, -7], null, null);
        foreach (var e in ObjectiveCatalog.All)
        {
            if (e.NeedsReference)
                Assert.Contains($"'{e.Id}'", Assert.Throws<ObjectiveException>(() => e.Create(new ObjectiveParams()).Compute(noReference, Train)).Message);
        }
        var withHeads = noReference with { Extras = new Dictionary<string, Tensor> { ["chosen_head_rewards"] = V(1, 2), ["rejected_head_rewards"] = V(0, 3) } };
        var free = ObjectiveCatalog.All.Where(e => !e.NeedsReference).Select(e => e.Id).ToArray();
        Assert.Equal(["simpo", "alphapo", "cpo", "orpo", "dph_separate", "dph_contrastive", "sft"], free);
        foreach (var id in free)
            Assert.All(Losses(Create(id), withHeads), l => Assert.True(double.IsFinite(l)));
    }

    [Fact]
    public void Unknown_or_invalid_parameters_name_the_objective_and_key()
    {
        Assert.Contains("'betta'", Assert.Throws<ObjectiveException>(() => Create("dpo", ("betta", "0.1"))).Message);
        var e = Assert.Throws<ObjectiveException>(() => Create("cdpo", ("label_smoothing", "0.7")));
        Assert.Contains("'cdpo'", e.Message);
        Assert.Contains("'label_smoothing'", e.Message);
        Assert.Contains("'beta'", Assert.Throws<ObjectiveException>(() => Create("ipo", ("beta", "-1"))).Message);
        Assert.Contains("'exo'", Assert.Throws<ObjectiveException>(() => Create("exo", ("label_smoothing", "0"))).Message);
        Assert.Contains("number", Assert.Throws<ObjectiveException>(() => Create("simpo", ("gamma", "big"))).Message);
        Assert.Contains("one of", Assert.Throws<ObjectiveException>(() => Create("odpo", ("offset_mode", "log"))).Message);
        Assert.Contains("not both", Assert.Throws<ObjectiveException>(() => Create("dpo_shift", ("lambda", "0.9"), ("lambda_schedule", "increase_linear"))).Message);
        Assert.Contains("lambda_min", Assert.Throws<ObjectiveException>(() => Create("dpo_shift", ("lambda_schedule", "decrease_linear"), ("lambda_min", "2"))).Message);
        Assert.Contains("unknown objective 'dpo2'", Assert.Throws<ObjectiveException>(() => Create("dpo2")).Message);
        Assert.Contains("'f_alpha'", Assert.Throws<ObjectiveException>(() => Create("dpo", ("f_divergence", "alpha"), ("f_alpha", "1"))).Message);
    }

    [Fact]
    public void Dpo_shift_schedule_without_a_step_count_is_an_error()
    {
        var o = Create("dpo_shift", ("lambda_schedule", "increase_linear"));
        var e = Assert.Throws<ObjectiveException>(() => o.Compute(WithExtras(), new ObjectiveContext(true, 0, 0, null)));
        Assert.Contains("max_steps", e.Message);
    }

    [Fact]
    public void Kto_labels_must_be_zero_or_one()
    {
        var u = new UnpairedStats(V(-3, -4), V(-3, -4), V(1, 2), V(-5), V(-5));
        Assert.Contains("labels", Assert.Throws<ObjectiveException>(() => new Kto(0.1).Compute(u, Train)).Message);
    }
}
