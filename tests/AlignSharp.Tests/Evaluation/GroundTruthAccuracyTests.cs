using AlignSharp.Evaluation;

namespace AlignSharp.Tests.Evaluation;

public sealed class GroundTruthAccuracyTests
{
    // Four hand-labelled pairs (learned a, learned b; truth a, truth b):
    //   1: (2, 1)  vs (0.5, 0.1): both say a         -> right
    //   2: (0, 3)  vs (0.2, 0.9): both say b         -> right
    //   3: (1, 1)  vs (0.3, 0.1): learned tie        -> wrong
    //   4: (5, 4)  vs (0.4, 0.4): ground-truth tie   -> not counted
    //   5: (1, 2)  vs (0.6, 0.2): learned says b     -> wrong
    // accuracy = 2 / 4, standard error sqrt(0.5 * 0.5 / 4) = 0.25.
    private static readonly double[] A = [2, 0, 1, 5, 1], B = [1, 3, 1, 4, 2];
    private static readonly double[] Ta = [0.5, 0.2, 0.3, 0.4, 0.6], Tb = [0.1, 0.9, 0.1, 0.4, 0.2];

    [Fact]
    public void Hand_labelled_pairs_give_the_hand_computed_accuracy()
    {
        var r = GroundTruthAccuracy.Compute(A, B, Ta, Tb);
        Assert.Equal(0.5, r.Accuracy, 15);
        Assert.Equal(0.25, r.StandardError, 15);
        Assert.Equal((4, 1), (r.Count, r.Ties));
    }

    [Fact]
    public void Which_side_is_called_first_does_not_matter()
    {
        var swapped = GroundTruthAccuracy.Compute(B, A, Tb, Ta);
        Assert.Equal(GroundTruthAccuracy.Compute(A, B, Ta, Tb), swapped);
    }

    [Fact]
    public void A_constant_reward_scores_zero_and_the_ground_truth_itself_scores_one()
    {
        double[] zero = [0, 0, 0, 0, 0];
        Assert.Equal(0.0, GroundTruthAccuracy.Compute(zero, zero, Ta, Tb).Accuracy);
        Assert.Equal(1.0, GroundTruthAccuracy.Compute(Ta, Tb, Ta, Tb).Accuracy);
        Assert.Equal(1.0, GroundTruthAccuracy.Compute([.. Ta.Select(x => 3 * x - 7)], [.. Tb.Select(x => 3 * x - 7)], Ta, Tb).Accuracy);
    }

    [Fact]
    public void A_nan_learned_reward_is_wrong_and_a_nan_truth_or_a_length_mismatch_is_an_error()
    {
        var r = GroundTruthAccuracy.Compute([double.NaN, 1], [0, 0], [1, 1], [0, 0]);
        Assert.Equal((0.5, 2), (r.Accuracy, r.Count));
        Assert.Throws<EvaluationException>(() => GroundTruthAccuracy.Compute([1], [0], [double.NaN], [0]));
        Assert.Throws<EvaluationException>(() => GroundTruthAccuracy.Compute([1, 2], [0], [1], [0]));
    }
}
