namespace AlignSharp.Evaluation;

/// <summary>A sample mean with its standard error (sample standard deviation / √n) and the sample count.</summary>
public sealed record Estimate(double Mean, double StandardError, int Count)
{
    /// <summary>The mean and standard error of <paramref name="values"/> (SE is 0 for fewer than two values, NaN mean for none).</summary>
    public static Estimate Of(IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n == 0) return new Estimate(double.NaN, double.NaN, 0);
        double mean = values.Average();
        if (n == 1) return new Estimate(mean, 0, 1);
        double ss = values.Sum(v => (v - mean) * (v - mean));
        return new Estimate(mean, Math.Sqrt(ss / (n - 1) / n), n);
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"{Mean:0.0000} ± {StandardError:0.0000} (n={Count})");
}
