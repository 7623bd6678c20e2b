namespace AlignSharp.Evaluation;

/// <summary>How often a learned reward orders pairs as a ground-truth reward does.</summary>
/// <param name="Accuracy">Share of counted pairs the learned reward orders as the ground truth does (NaN for none).</param>
/// <param name="StandardError">Binomial standard error <c>sqrt(a (1 - a) / n)</c> of <paramref name="Accuracy"/>.</param>
/// <param name="Count">Pairs counted: those whose two ground-truth rewards differ.</param>
/// <param name="Ties">Pairs left out because their ground-truth rewards are equal (no order to recover).</param>
public sealed record GroundTruthAccuracyResult(double Accuracy, double StandardError, int Count, int Ties);

/// <summary>
/// Preference accuracy of a learned reward against a ground-truth reward: for each pair (a, b) with
/// <c>t(a) != t(b)</c>, the learned reward is right when <c>r(a) - r(b)</c> has the sign of <c>t(a) - t(b)</c>. A tie
/// of the learned reward counts as wrong (as in <see cref="ImplicitRewardAccuracy"/>), so a reward that scores every
/// text alike has accuracy 0, not 0.5. The pairs' own labels (chosen, rejected) play no part: which side is called
/// chosen does not change the result.
/// </summary>
public static class GroundTruthAccuracy
{
    /// <summary>Accuracy of learned rewards (<paramref name="first"/>, <paramref name="second"/>) against ground-truth ones.</summary>
    public static GroundTruthAccuracyResult Compute(IReadOnlyList<double> first, IReadOnlyList<double> second,
        IReadOnlyList<double> truthFirst, IReadOnlyList<double> truthSecond)
    {
        int n = first.Count;
        if (second.Count != n || truthFirst.Count != n || truthSecond.Count != n)
            throw new EvaluationException(
                $"reward lists differ in length: {n}, {second.Count}, {truthFirst.Count}, {truthSecond.Count}");
        int counted = 0, right = 0;
        for (int i = 0; i < n; i++)
        {
            double truth = truthFirst[i] - truthSecond[i];
            if (double.IsNaN(truth)) throw new EvaluationException($"pair {i + 1}: the ground-truth reward is NaN");
            if (truth == 0) continue;
            counted++;
            double learned = first[i] - second[i]; // a NaN learned reward is wrong either way
            if (truth > 0 ? learned > 0 : learned < 0) right++;
        }
        if (counted == 0) return new GroundTruthAccuracyResult(double.NaN, double.NaN, 0, n);
        double a = (double)right / counted;
        return new GroundTruthAccuracyResult(a, Math.Sqrt(a * (1 - a) / counted), counted, n - counted);
    }
}
