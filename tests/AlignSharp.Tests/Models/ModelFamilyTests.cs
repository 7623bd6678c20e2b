using System.Text.RegularExpressions;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Models;

/// <summary>
/// Contracts every registered family keeps, iterated over <see cref="ModelFamilies"/>: config.json round trip through
/// the family's own parser and writer (reading only the keys it documents), bit-exact save/load of a random model,
/// KV-cache decoding equal to full recomputation on a left-padded batch, and no family string switch outside the
/// families' own files.
/// </summary>
public sealed class ModelFamilyTests : IDisposable
{
    private readonly string tmp = Directory.CreateTempSubdirectory("alignsharp-families-").FullName;

    public void Dispose() => Directory.Delete(tmp, recursive: true);

    /// <summary>Every registered model_type.</summary>
    public static TheoryData<string> ModelTypes => new(ModelFamilies.ModelTypes);

    private static ModelConfig Tiny(string type) =>
        ModelFamilies.ForModelType(type).TinyConfig(type, 61) with { EosTokenIds = [2, 5], BosTokenId = 1 };

    [Fact]
    public void Registry_maps_each_model_type_to_exactly_one_family()
    {
        Assert.NotEmpty(ModelFamilies.All);
        Assert.Equal(ModelFamilies.ModelTypes.Count, ModelFamilies.ModelTypes.Distinct().Count());
        foreach (var f in ModelFamilies.All)
            foreach (var t in f.ModelTypes) Assert.Same(f, ModelFamilies.ForModelType(t));
        var e = Assert.Throws<ModelConfigException>(() => ModelFamilies.ForModelType("falcon"));
        Assert.Contains("unsupported model_type 'falcon'", e.Message);
    }

    [Fact]
    public void Every_registered_family_has_a_golden_fixture()
    {
        var covered = GoldenModel.Names.Select(n => ModelFamilies.ForModelType(GoldenModel.ModelTypeOf(n))).ToHashSet();
        Assert.All(ModelFamilies.All, f => Assert.Contains(f, covered));
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Config_json_round_trips_and_the_parser_reads_only_documented_keys(string type)
    {
        var cfg = Tiny(type);
        var json = HfConfig.ToJson(cfg);
        var reader = new HfConfigReader(json, "config.json");
        var back = HfConfig.Parse(reader);
        int[] none = [];
        Assert.Equal(cfg with { EosTokenIds = none }, back with { EosTokenIds = none });
        Assert.Equal(cfg.EosTokenIds, back.EosTokenIds);
        var documented = cfg.Family.ConfigKeys.Concat(HfConfig.CommonKeys).ToHashSet();
        Assert.All(reader.KeysRead, k => Assert.Contains(k, documented));
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Random_model_saves_and_reloads_bit_exactly_with_the_family_names(string type)
    {
        torch.manual_seed(3);
        using var model = ModelFactory.Create(Tiny(type));
        string dir = Path.Combine(tmp, type);
        HfCheckpoint.Save(model, dir);
        var loaded = HfCheckpoint.Load(dir);
        using var back = loaded.Model;
        Assert.Empty(loaded.Notes);
        var a = model.state_dict();
        var b = back.state_dict();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var k in a.Keys) TensorAssert.BitEqual(a[k], b[k], k);
        Assert.Contains(model.Config.Family.EmbeddingName, a.Keys);
        Assert.Equal(!model.Config.TieWordEmbeddings, a.ContainsKey(model.Config.Family.HeadName));
        var linear = model.named_modules().Select(m => m.name.Split('.')[^1]).ToHashSet();
        Assert.All(model.Config.Family.LinearModules, m => Assert.Contains(m, linear));
        Assert.All(model.Config.Family.DefaultAdapterTargets, m => Assert.Contains(m, model.Config.Family.LinearModules));
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Kv_cache_decoding_equals_full_recomputation_on_a_left_padded_batch(string type)
    {
        torch.manual_seed(4);
        using var model = ModelFactory.Create(Tiny(type));
        model.eval();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var ids = torch.randint(3, 61, [2, 9]);
        var mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1 }, [2, 9]);
        var pos = CausalLM.PositionsFromMask(mask);
        var full = model.ForwardHidden(ids, mask, pos); // (B, T, C)
        using var cache = model.NewCache();
        var parts = new List<Tensor> { model.ForwardHidden(ids[.., ..5], mask[.., ..5], pos[.., ..5], cache) };
        for (int t = 5; t < 9; t++)
            parts.Add(model.ForwardHidden(ids[.., t..(t + 1)], mask[.., ..(t + 1)], pos[.., t..(t + 1)], cache));
        var incremental = torch.cat(parts, 1);
        var real = mask.to(ScalarType.Bool).unsqueeze(-1); // (B, T, 1): pad slots are undefined
        float diff = (incremental - full).abs().masked_fill(real.logical_not(), 0).max().item<float>();
        Assert.True(diff < 1e-5, $"{type}: cached and full forward differ by {diff}");
    }

    [Fact]
    public void No_model_family_string_switch_outside_the_families_files()
    {
        string src = Path.Combine(TestSetup.RepoRoot, "src");
        string bench = Path.Combine(TestSetup.RepoRoot, "bench");
        string families = Path.Combine(src, "AlignSharp", "Models", "Families") + Path.DirectorySeparatorChar;
        string types = string.Join("|", ModelFamilies.ModelTypes.Select(Regex.Escape));
        // a comparison or case label on a model_type literal, or a switch arm for one
        var pattern = new Regex($"(==|!=|\\bcase|\\bis)\\s*\"({types})\"|\"({types})\"\\s*(=>|\\bor\\b|\\band\\b)");
        var offenders = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(bench, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.StartsWith(families, StringComparison.Ordinal) && !f.Contains("/obj/") && !f.Contains("/bin/"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => pattern.IsMatch(x.line))
            .Select(x => $"{x.f}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
        Assert.DoesNotContain(typeof(ModelConfig).Assembly.GetTypes(), t => t.Name == "ModelFamily" && t.IsEnum);
    }
}
