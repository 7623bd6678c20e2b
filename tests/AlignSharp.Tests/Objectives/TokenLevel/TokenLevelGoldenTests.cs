using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>
/// Every case of ../shared/golden/objectives/tokenlevel_vectors.json (an independent float64 implementation)
/// reproduced to the spec's tolerance (objectives-tokenlevel.md: 1e-6 relative / 1e-9 absolute), also with poisoned padding and extra padding columns; the catalog
/// follows the spec's token-level table.
/// </summary>
public sealed class TokenLevelGoldenTests
{
    internal static string VectorsPath => Path.Combine(TestSetup.Shared, "golden", "objectives", "tokenlevel_vectors.json");

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
            if (results[b].Outputs is { } outputs)
            {
                foreach (var (key, expected) in c.Batches[b].Expected!)
                    AssertClose(Flat(expected), Flat(outputs[key]), $"{label} batch {b} {key}");
                continue;
            }
            AssertClose(c.Batches[b].ExpectedLosses!, results[b].Losses, $"{label} batch {b} losses");
            AssertClose([c.Batches[b].ExpectedLoss!.Value], [results[b].Loss], $"{label} batch {b} mean");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Padding_content_and_extra_padding_columns_change_nothing(int index, string label)
    {
        var c = File.Value.Cases[index];
        using var scope = NewDisposeScope();
        var batch = c.Batches[0];
        var poisoned = Poison(ObjectiveVectors.ToPairs(batch.Inputs));
        if (c.Objective == TokenRewards.Entry.Id)
        {
            var r = TokenRewards.Compute(poisoned, c.ToParams());
            AssertClose(Flat(batch.Expected!["sequence_rewards"]), PairInputs.Values(r.SequenceRewards), $"{label} sequence");
            // The added column is padding: dropped before comparing.
            AssertClose(Flat(batch.Expected!["token_rewards"]), PairInputs.Values(r.TokenRewards[.., ..^1].reshape(-1)), label);
            return;
        }
        var losses = PairInputs.Values(ObjectiveCatalog.Create(c.Objective, c.ToParams()).Compute(poisoned, ObjectiveContext.Eval).Losses);
        AssertClose(batch.ExpectedLosses!, losses, $"{label} with NaN padding and an extra column");
    }

    [Fact]
    public void Golden_file_covers_every_token_level_objective_and_output()
    {
        var ids = File.Value.Cases.Select(c => c.Objective).ToHashSet();
        var missing = ObjectiveCatalog.TokenLevel.Select(e => e.Id).Concat(ObjectiveCatalog.Outputs.Select(o => o.Id))
            .Where(id => !ids.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"no golden case for: {string.Join(", ", missing)}");
        Assert.All(ids, id => Assert.True(ObjectiveCatalog.Find(id) is not null || ObjectiveCatalog.Outputs.Any(o => o.Id == id), id));
    }

    [Fact]
    public void Ids_parameters_and_defaults_match_the_token_level_table()
    {
        var rows = System.IO.File.ReadAllLines(Path.Combine(TestSetup.Shared, "spec", "objectives-tokenlevel.md"))
            .Where(l => l.StartsWith("| `")).ToList();
        var specIds = rows.Select(r => Regex.Match(r, @"^\| `([a-z_]+)`").Groups[1].Value).ToList();
        var ours = ObjectiveCatalog.TokenLevel.Select(e => e.Id).Concat(ObjectiveCatalog.Outputs.Select(o => o.Id)).ToList();
        Assert.Equal(specIds.Order(), ours.Order());
        foreach (var row in rows)
        {
            string id = Regex.Match(row, @"^\| `([a-z_]+)`").Groups[1].Value;
            string cell = row.Split(" | ")[1];
            var parameters = ObjectiveCatalog.Find(id)?.Parameters ?? ObjectiveCatalog.Outputs.Single(o => o.Id == id).Parameters;
            foreach (Match m in Regex.Matches(cell, @"\b([a-z_]+)=`?([0-9.]+|[a-z_]+)`?"))
            {
                var p = parameters.FirstOrDefault(p => p.Name == m.Groups[1].Value);
                Assert.True(p is not null, $"{id}: the table lists '{m.Groups[1].Value}', the catalog does not");
                Assert.Equal(m.Groups[2].Value, p is NumberParameter n ? NumberParameter.Format(n.Default) : p!.DefaultText);
            }
            foreach (Match m in Regex.Matches(cell, @"\b([a-z_]+) \(required"))
            {
                var p = parameters.OfType<NumberParameter>().FirstOrDefault(p => p.Name == m.Groups[1].Value);
                Assert.True(p is { Required: true }, $"{id}: '{m.Groups[1].Value}' must be a required parameter");
            }
            int listed = Regex.Matches(cell, @"\b([a-z_]+)(=| \(required)").Count;
            Assert.Equal(listed, parameters.Count);
        }
    }

    [Fact]
    public void Provisional_typo_and_svpo_are_not_in_the_catalog_and_docs_say_why()
    {
        Assert.Null(ObjectiveCatalog.Find("typo"));
        Assert.Null(ObjectiveCatalog.Find("svpo"));
        string docs = ObjectiveDocs.Markdown();
        Assert.Contains("`typo` and `svpo` are left out: the spec marks them provisional", docs);
        foreach (var e in ObjectiveCatalog.TokenLevel)
        {
            Assert.Contains($"| `{e.Id}` |", docs);
            Assert.False(string.IsNullOrWhiteSpace(e.Data), $"{e.Id} documents its data");
            Assert.StartsWith("https://", e.Paper);
        }
    }

    [Fact]
    public void A_required_parameter_must_be_set_and_is_listed_as_required()
    {
        var e = Assert.Throws<ObjectiveException>(() => ObjectiveCatalog.Create("ilr_dpo", new ObjectiveParams()));
        Assert.Contains("objective 'ilr_dpo': parameter 'alpha' is required", e.Message);
        Assert.True(ObjectiveCatalog.Get("sr_dpo").NeedsReference); // traits are read without the required value
        Assert.Equal("required", ObjectiveCatalog.Get("sr_ipo").Parameters.Single(p => p.Name == "lambda").DefaultText);
        var ok = ObjectiveCatalog.Create("ilr_dpo", new ObjectiveParams(new Dictionary<string, string> { ["alpha"] = "0.2" }));
        Assert.Equal(0.2, ((IlrDpo)ok).Alpha);
    }

    /// <summary>
    /// Masked slots of every per-token input set to NaN (ids to 77, secondary masks to 1, state masks to 0), and
    /// one more padding column appended along T.
    /// </summary>
    private static PairStats Poison(PairStats s)
    {
        var extras = new Dictionary<string, Tensor>();
        foreach (var (key, t) in s.Extras)
        {
            var mask = MaskFor(key, s.Extras);
            if (mask is null || t.dim() < 2) { extras[key] = t; continue; }
            int tDim = (int)mask.dim() - 1;
            var m = mask.ne(0);
            if (t.dim() > mask.dim()) m = m.unsqueeze(-1); // hidden states (B, N, T, H)
            bool isMask = key.EndsWith("mask", StringComparison.Ordinal);
            double fill = key is "chosen_mask" or "rejected_mask" or "mask" or "response_mask" or "state_mask" ? 0
                : isMask ? 1 : key.EndsWith("_ids", StringComparison.Ordinal) ? 77 : double.NaN;
            var poisoned = where(m, t, full_like(t, fill));
            var shape = poisoned.shape.ToArray();
            shape[tDim] = 1;
            double padFill = isMask ? 0 : fill;
            extras[key] = cat([poisoned, full(shape, padFill, t.dtype)], tDim); // (…, T) -> (…, T+1)
        }
        return s with { Extras = extras };
    }

    private static Tensor? MaskFor(string key, IReadOnlyDictionary<string, Tensor> extras)
    {
        if (extras.ContainsKey("response_mask")) return key == "scores" ? null : extras["response_mask"];
        if (extras.ContainsKey("mask")) return key == "rewards" ? null : extras["mask"];
        if (key.Contains("chosen")) return extras.GetValueOrDefault("chosen_mask");
        if (key.Contains("rejected")) return extras.GetValueOrDefault("rejected_mask");
        return null;
    }

    internal static double[] Flat(JsonNode? node) => node switch
    {
        JsonArray a => [.. a.SelectMany(Flat)],
        JsonValue v => [v.GetValue<double>()],
        _ => throw new ArgumentException("not a number or array"),
    };

    /// <summary>The token-level vectors' tolerance as ../shared/spec/objectives-tokenlevel.md states it.</summary>
    private static readonly (double Rtol, double Atol) Tolerance = GoldenVectorTests.SpecTolerance("objectives-tokenlevel.md");

    internal static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = Enumerable.Range(0, expected.Length).MaxBy(i => Math.Abs(actual[i] - expected[i]));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(GoldenVectorTests.Close(actual[i], expected[i], Tolerance),
                $"{what} [{i}]: got {actual[i]:R}, expected {expected[i]:R}; largest |diff| "
                + $"{Math.Abs(actual[worst] - expected[worst]):R} at [{worst}]");
    }
}
