using AlignSharp.Objectives;

namespace AlignSharp.Tests.Objectives;

/// <summary>Every case of ../shared/golden/objectives/vectors.json (an independent float64 implementation) reproduced.</summary>
public sealed class GoldenVectorTests
{
    /// <summary>
    /// The golden vectors' tolerance as the spec states it ("to 1e-6 relative (1e-9 absolute)" in
    /// ../shared/spec/objectives.md; objectives-tokenlevel.md states the same for its vectors).
    /// </summary>
    private static readonly (double Rtol, double Atol) Tolerance = SpecTolerance("objectives.md");

    private static double Rtol => Tolerance.Rtol;

    private static double Atol => Tolerance.Atol;

    /// <summary>The "R relative ... A absolute" tolerance a spec file under ../shared/spec states.</summary>
    internal static (double Rtol, double Atol) SpecTolerance(string specFile)
    {
        string path = Path.Combine(TestSetup.Shared, "spec", specFile);
        var m = System.Text.RegularExpressions.Regex.Match(System.IO.File.ReadAllText(path),
            @"(\d[\d.]*e-\d+) relative[ /(]+(\d[\d.]*e-\d+) absolute");
        Assert.True(m.Success, $"{path}: no 'R relative (A absolute)' tolerance found");
        static double D(string v) => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture);
        return (D(m.Groups[1].Value), D(m.Groups[2].Value));
    }

    internal static string VectorsPath => Path.Combine(TestSetup.Shared, "golden", "objectives", "vectors.json");

    private static readonly Lazy<(ulong Seed, IReadOnlyList<VectorCase> Cases)> File = new(() => ObjectiveVectors.Read(VectorsPath));

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        foreach (var c in File.Value.Cases) data.Add(c.Index, c.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Golden_case_is_reproduced_to_the_spec_tolerance(int index, string label)
    {
        var c = File.Value.Cases[index];
        var results = ObjectiveVectors.Evaluate(c, File.Value.Seed);
        Assert.Equal(c.Batches.Count, results.Count);
        for (int b = 0; b < results.Count; b++)
        {
            var expected = c.Batches[b].ExpectedLosses!;
            var actual = results[b].Losses;
            Assert.Equal(expected.Length, actual.Length);
            int worst = Enumerable.Range(0, expected.Length).MaxBy(i => Math.Abs(actual[i] - expected[i]))!;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Close(actual[i], expected[i]),
                    $"{label} batch {b} pair {i}: got {actual[i]:R}, expected {expected[i]:R}; largest |diff| {Math.Abs(actual[worst] - expected[worst]):R} at pair {worst}");
            Assert.True(Close(results[b].Loss, c.Batches[b].ExpectedLoss!.Value),
                $"{label} batch {b}: mean {results[b].Loss:R}, expected {c.Batches[b].ExpectedLoss:R}");
        }
    }

    [Fact]
    public void Golden_file_covers_every_catalog_objective_except_the_sft_term()
    {
        var ids = File.Value.Cases.Select(c => c.Objective).ToHashSet();
        var missing = ObjectiveCatalog.All.Select(e => e.Id).Where(id => id != "sft" && !ids.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"no golden case for: {string.Join(", ", missing)}");
    }

    internal static bool Close(double actual, double expected) => Close(actual, expected, Tolerance);

    internal static bool Close(double actual, double expected, (double Rtol, double Atol) tolerance) =>
        Math.Abs(actual - expected) <= tolerance.Atol + tolerance.Rtol * Math.Abs(expected);
}
