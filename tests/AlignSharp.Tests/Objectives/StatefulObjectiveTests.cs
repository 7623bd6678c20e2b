using AlignSharp.Objectives;
using static AlignSharp.Tests.Objectives.Pairs;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives;

/// <summary>State of bco and beta_dpo (and combinations holding them): updated only in training, saved and restored exactly.</summary>
public sealed class StatefulObjectiveTests
{
    public static TheoryData<string> StatefulIds() => [.. ObjectiveCatalog.All.Where(e => e.Stateful).Select(e => e.Id)];

    [Fact]
    public void Exactly_bco_and_beta_dpo_are_stateful()
    {
        Assert.Equal(["bco", "beta_dpo"], ObjectiveCatalog.All.Where(e => e.Stateful).Select(e => e.Id).ToArray());
        Assert.Equal(["kto"], ObjectiveCatalog.All.Where(e => e.Unpaired).Select(e => e.Id).ToArray());
    }

    [Theory]
    [MemberData(nameof(StatefulIds))]
    public void Evaluation_leaves_the_state_unchanged(string id)
    {
        var o = id == "beta_dpo" ? Create(id, ("filter_ratio", "0.25")) : Create(id);
        var generator = new Generator(3);
        o.Compute(Random(8, 1), new ObjectiveContext(true, 0, 10, generator));
        string before = ((IStatefulObjective)o).SaveState().ToJsonString();
        var first = Losses(o, Random(8, 2), ObjectiveContext.Eval);
        var second = Losses(o, Random(8, 2), ObjectiveContext.Eval);
        Assert.Equal(before, ((IStatefulObjective)o).SaveState().ToJsonString());
        AllClose(first, second, $"{id}: evaluation is repeatable");
    }

    [Theory]
    [MemberData(nameof(StatefulIds))]
    public void Saved_state_restored_into_a_fresh_instance_continues_identically(string id)
    {
        // Train two batches, save, restore into a fresh instance; the third training batch must match exactly,
        // including beta_dpo's sampled filtering (same generator state on both sides).
        var ps = id == "beta_dpo" ? new[] { ("filter_ratio", "0.25") } : [];
        var a = Create(id, ps);
        var g = new Generator(42);
        a.Compute(Random(8, 1), new ObjectiveContext(true, 0, 3, g));
        a.Compute(Random(8, 2), new ObjectiveContext(true, 1, 3, g));
        var saved = ((IStatefulObjective)a).SaveState();
        var json = System.Text.Json.Nodes.JsonNode.Parse(saved.ToJsonString())!.AsObject(); // through text, as a checkpoint stores it

        var b = Create(id, ps);
        ((IStatefulObjective)b).LoadState(json);
        Assert.Equal(saved.ToJsonString(), ((IStatefulObjective)b).SaveState().ToJsonString());
        var gState = g.get_state();
        var gb = new Generator(0);
        gb.set_state(gState);
        var la = Losses(a, Random(8, 3), new ObjectiveContext(true, 2, 3, g));
        var lb = Losses(b, Random(8, 3), new ObjectiveContext(true, 2, 3, gb));
        Assert.Equal(la, lb);
        Assert.Equal(((IStatefulObjective)a).SaveState().ToJsonString(), ((IStatefulObjective)b).SaveState().ToJsonString());
    }

    [Fact]
    public void A_fresh_instance_differs_from_a_trained_one()
    {
        var trained = new Bco(0.1);
        trained.Compute(Random(8, 1), Train);
        Assert.NotEqual(Losses(new Bco(0.1), Random(8, 2), ObjectiveContext.Eval)[0], Losses(trained, Random(8, 2), ObjectiveContext.Eval)[0]);
    }

    [Fact]
    public void Beta_dpo_filtering_keeps_the_declared_share_and_repeats_with_the_same_seed()
    {
        double[] Run(ulong seed)
        {
            var o = new BetaDpo(0.1, 0.6, 0.25, 0.9);
            var g = new Generator(seed);
            o.Compute(Random(8, 1), new ObjectiveContext(true, 0, 2, g));
            return Losses(o, Random(8, 2), new ObjectiveContext(true, 1, 2, g));
        }
        var a = Run(7);
        Assert.Equal(6, a.Count(l => l != 0)); // floor(8 * 0.75)
        Assert.Equal(a, Run(7));
    }

    [Fact]
    public void Beta_dpo_filtering_without_a_generator_is_a_clear_error()
    {
        var e = Assert.Throws<ObjectiveException>(() => new BetaDpo(0.1, 0.6, 0.2, 0.9).Compute(Random(8, 1), Train));
        Assert.Contains("beta_dpo", e.Message);
        Assert.Contains("generator", e.Message);
    }

    [Fact]
    public void Corrupt_saved_state_names_the_missing_key()
    {
        var e = Assert.Throws<ObjectiveException>(() => new Bco(0.1).LoadState(new System.Text.Json.Nodes.JsonObject { ["delta"] = 1.0 }));
        Assert.Contains("'count'", e.Message);
    }

    [Fact]
    public void Combined_objective_saves_and_restores_its_stateful_members()
    {
        CombinedObjective Make() => CombinedObjective.Create([
            new ObjectiveTerm("dpo", 1.0, new ObjectiveParams()),
            new ObjectiveTerm("bco", 0.2, new ObjectiveParams()),
        ]);
        var a = Make();
        a.Compute(Random(8, 1), Train);
        var b = Make();
        b.LoadState(a.SaveState());
        Assert.Equal(Losses(a, Random(8, 2), ObjectiveContext.Eval), Losses(b, Random(8, 2), ObjectiveContext.Eval));
        Assert.NotEqual(0.0, ((Bco)b.Members[1].Objective).Delta);
    }
}
