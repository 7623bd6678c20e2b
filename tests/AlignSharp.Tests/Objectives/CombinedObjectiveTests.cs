using AlignSharp.Objectives;
using static AlignSharp.Tests.Objectives.Pairs;

namespace AlignSharp.Tests.Objectives;

public sealed class CombinedObjectiveTests
{
    private static readonly PairStats Batch = Random(6, seed: 8);

    [Fact]
    public void Loss_is_the_weighted_sum_of_member_losses_with_the_first_members_rewards()
    {
        var combined = CombinedObjective.Create([
            new ObjectiveTerm("dpo", 1.0, new ObjectiveParams()),
            new ObjectiveTerm("bco", 0.2, new ObjectiveParams()),
            new ObjectiveTerm("sft", 0.1, new ObjectiveParams()),
        ]);
        var dpo = Losses(new Dpo(0.1), Batch);
        var bco = Losses(new Bco(0.1), Batch); // fresh state, updated once in training, as the member's is
        var sft = Losses(new Sft(), Batch);
        var output = combined.Compute(Batch, Train);
        AllClose([.. dpo.Select((d, i) => d + 0.2 * bco[i] + 0.1 * sft[i])], output.Losses.data<double>().ToArray(), "combined");
        AllClose(new Dpo(0.1).Compute(Batch, Train).ChosenRewards.data<double>().ToArray(), output.ChosenRewards.data<double>().ToArray(), "rewards");
        Assert.Contains("bco/loss", output.Metrics.Keys);
        Assert.Contains("bco/bco/delta", output.Metrics.Keys);
        Assert.True(combined.NeedsReference);
        Assert.Equal("1.0*dpo+0.2*bco+0.1*sft".Replace("1.0*", "1*"), combined.Id);
    }

    [Fact]
    public void Needs_a_reference_only_if_a_member_does()
    {
        var free = CombinedObjective.Create([new ObjectiveTerm("simpo", 1, new ObjectiveParams()), new ObjectiveTerm("sft", 0.5, new ObjectiveParams())]);
        Assert.False(free.NeedsReference);
        Assert.Equal(LogProbReduction.Mean, free.Reduction);
        var noReference = Batch with { ReferenceChosen = null, ReferenceRejected = null };
        AllClose(Losses(new SimPo(2, 1), noReference).Zip(Losses(new Sft(), noReference), (a, b) => a + 0.5 * b).ToArray(), Losses(free, noReference), "simpo + sft");
    }

    [Fact]
    public void Bad_terms_are_errors_naming_them()
    {
        Assert.Contains("at least one", Assert.Throws<ObjectiveException>(() => CombinedObjective.Create([])).Message);
        Assert.Contains("unknown objective 'dop'", Assert.Throws<ObjectiveException>(() => CombinedObjective.Create([new ObjectiveTerm("dop", 1, new ObjectiveParams())])).Message);
        Assert.Contains("weight", Assert.Throws<ObjectiveException>(() => CombinedObjective.Create([new ObjectiveTerm("dpo", double.NaN, new ObjectiveParams())])).Message);
    }
}
