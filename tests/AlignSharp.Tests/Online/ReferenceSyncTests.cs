using AlignSharp.Online;
using AlignSharp.Tests.Training;

namespace AlignSharp.Tests.Online;

public sealed class ReferenceSyncTests
{
    [Fact]
    public void A_soft_sync_moves_each_parameter_alpha_of_the_way_and_a_hard_sync_copies()
    {
        using var policy = TinyRun.Model(1);
        using var reference = TinyRun.Model(2);
        var before = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        ReferenceSync.Blend(reference, policy, 0.25);
        foreach (var (name, p) in policy.named_parameters())
        {
            var expected = 0.25 * p.detach() + 0.75 * before[name]; // ref = a * policy + (1 - a) * ref
            var got = reference.named_parameters().Single(x => x.name == name).parameter;
            Assert.True(got.allclose(expected, rtol: 0, atol: 1e-6), name);
        }
        ReferenceSync.Blend(reference, policy, 1.0);
        foreach (var (name, p) in policy.named_parameters())
        {
            var got = reference.named_parameters().Single(x => x.name == name).parameter;
            Assert.True(got.eq(p).all().item<bool>(), name);
        }
    }
}
