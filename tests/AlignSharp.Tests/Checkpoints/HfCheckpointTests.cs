using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using AlignSharp.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Checkpoints;

public sealed class HfCheckpointTests : IDisposable
{
    private readonly string tmp = Directory.CreateTempSubdirectory("alignsharp-hf-").FullName;

    public void Dispose() => Directory.Delete(tmp, recursive: true);

    public static TheoryData<string> Folders => new(GoldenModel.Names);

    private static string Golden(string name) => GoldenModel.DirOf(name);

    /// <summary>Copies a golden folder (config + weights) into a scratch folder the test may corrupt.</summary>
    private string CopyOf(string name)
    {
        string dst = Path.Combine(tmp, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(Golden(name)).Where(f => !f.EndsWith("golden.json", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        return dst;
    }

    private static void AssertSameState(CausalLM a, CausalLM b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        Assert.Equal(sa.Keys.Order(), sb.Keys.Order());
        foreach (var k in sa.Keys) TensorAssert.BitEqual(sa[k], sb[k], k);
    }

    private static CheckpointException LoadFails(string dir) => Assert.Throws<CheckpointException>(() => HfCheckpoint.Load(dir).Model.Dispose());

    [Theory]
    [MemberData(nameof(Folders))]
    public void Load_save_load_is_bit_exact_with_the_same_names_and_parameter_count(string folder)
    {
        using var first = HfCheckpoint.Load(Golden(folder)).Model;
        string saved = Path.Combine(tmp, "saved");
        HfCheckpoint.Save(first, saved);
        using var second = HfCheckpoint.Load(saved).Model;
        AssertSameState(first, second);
        Assert.Equal(first.parameters().Sum(p => p.numel()), second.parameters().Sum(p => p.numel()));
        // names equal the input checkpoint's (minus a tied head, which the input never stores here)
        var inputNames = new HashSet<string>();
        string index = Path.Combine(Golden(folder), HfCheckpoint.IndexFile);
        if (File.Exists(index)) foreach (var (k, _) in JsonNode.Parse(File.ReadAllText(index))!["weight_map"]!.AsObject()) inputNames.Add(k);
        else using (var f = SafetensorsFile.Open(Path.Combine(Golden(folder), HfCheckpoint.WeightsFile))) inputNames.UnionWith(f.Tensors.Keys);
        using (var f = SafetensorsFile.Open(Path.Combine(saved, HfCheckpoint.WeightsFile)))
        {
            Assert.Equal(inputNames.Order(), f.Tensors.Keys.Order());
            Assert.Equal("pt", f.Metadata["format"]);
        }
        var cfgIn = HfConfig.Read(Path.Combine(Golden(folder), "config.json"));
        var cfgOut = HfConfig.Read(Path.Combine(saved, "config.json"));
        Assert.Equal(cfgIn.EosTokenIds, cfgOut.EosTokenIds);
        Assert.NotEmpty(cfgOut.EosTokenIds);
        int[] none = [];
        Assert.Equal(cfgIn with { EosTokenIds = none }, cfgOut with { EosTokenIds = none });
        Assert.Empty(Directory.GetDirectories(tmp, ".*"));
    }

    [Fact]
    public void Sharded_save_writes_an_index_and_reloads_bit_exactly()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        string saved = Path.Combine(tmp, "sharded");
        HfCheckpoint.Save(model, saved, new HfSaveOptions { MaxShardBytes = 30_000 });
        Assert.False(File.Exists(Path.Combine(saved, HfCheckpoint.WeightsFile)));
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, HfCheckpoint.IndexFile)))!;
        var shards = index["weight_map"]!.AsObject().Select(kv => kv.Value!.GetValue<string>()).Distinct().ToList();
        Assert.True(shards.Count > 2);
        Assert.All(shards, s => Assert.True(new FileInfo(Path.Combine(saved, s)).Length < 30_000 + 4096));
        long total = model.parameters().Sum(p => p.numel() * 4);
        Assert.Equal(total, index["metadata"]!["total_size"]!.GetValue<long>());
        using var back = HfCheckpoint.Load(saved).Model;
        AssertSameState(model, back);
    }

    [Fact]
    public void Saving_over_an_existing_folder_replaces_it_and_copies_tokenizer_files()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Gpt2.Dir).Model;
        string src = Path.Combine(tmp, "src");
        Directory.CreateDirectory(src);
        string tokenizer = Path.Combine(AlignSharp.Tests.Tokenization.GoldenTokenizerFixture.GoldenDir,
            AlignSharp.Tests.Tokenization.GoldenTokenizerFixture.All[0].Name, "tokenizer.json");
        File.Copy(tokenizer, Path.Combine(src, "tokenizer.json"));
        string saved = Path.Combine(tmp, "out");
        Directory.CreateDirectory(saved);
        File.WriteAllText(Path.Combine(saved, "stale.txt"), "old");
        HfCheckpoint.Save(model, saved, new HfSaveOptions { SourceDir = src });
        Assert.False(File.Exists(Path.Combine(saved, "stale.txt")));
        Assert.Equal(File.ReadAllBytes(tokenizer), File.ReadAllBytes(Path.Combine(saved, "tokenizer.json")));
        Assert.Empty(Directory.GetDirectories(tmp, ".*"));
    }

    [Fact]
    public void Bf16_storage_option_saves_bf16_and_reloads_to_the_rounded_weights()
    {
        using var model = HfCheckpoint.Load(FixtureModels.Bf16.Dir).Model; // values are exactly representable in BF16
        string saved = Path.Combine(tmp, "bf16");
        HfCheckpoint.Save(model, saved, new HfSaveOptions { DType = ScalarType.BFloat16 });
        using (var f = SafetensorsFile.Open(Path.Combine(saved, HfCheckpoint.WeightsFile))) Assert.All(f.Tensors.Values, e => Assert.Equal("BF16", e.DType));
        Assert.Equal("bfloat16", JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "config.json")))!["torch_dtype"]!.GetValue<string>());
        using var back = HfCheckpoint.Load(saved).Model;
        AssertSameState(model, back);
    }

    [Fact]
    public void Dtype_option_loads_parameters_in_that_dtype()
    {
        using var f32 = HfCheckpoint.Load(FixtureModels.Llama.Dir).Model;
        using var bf16 = HfCheckpoint.Load(FixtureModels.Llama.Dir, new HfLoadOptions { DType = ScalarType.BFloat16 }).Model;
        Assert.All(bf16.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var noGrad = torch.no_grad();
        var ids = torch.tensor(new long[] { 3, 14, 15, 92, 65 }).unsqueeze(0);
        var mask = torch.ones_like(ids);
        var pos = CausalLM.PositionsFromMask(mask);
        using var a = f32.Logits(ids, mask, pos);
        using var b = bf16.Logits(ids, mask, pos).to(ScalarType.Float32);
        Assert.True((a - b).abs().max().item<float>() < 0.25); // bf16 arithmetic: close, not equal
    }

    /// <summary>One single-file F32 fixture with a tied head per model type.</summary>
    public static TheoryData<string> TiedFolders => FixtureModels.Names(FixtureModels.OnePerType(m => m.TiedHead));

    [Theory]
    [MemberData(nameof(TiedFolders))]
    public void Tied_embeddings_stay_one_shared_parameter_after_an_adamw_step(string folder)
    {
        string embedding = FixtureModels.All.Single(m => m.Name == folder).EmbeddingName;
        using var model = HfCheckpoint.Load(Golden(folder)).Model;
        Assert.DoesNotContain(model.named_parameters(), p => p.name == "lm_head.weight");
        var embed = model.named_parameters().Single(p => p.name == embedding).parameter;
        using var before = embed.detach().clone();
        var opt = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        using (var scope = torch.NewDisposeScope())
        {
            var ids = torch.tensor(new long[] { 5, 9, 17, 3 }).unsqueeze(0);
            var mask = torch.ones_like(ids);
            var logits = model.Logits(ids, mask, CausalLM.PositionsFromMask(mask));
            // Only the head sees token 40's row (it is not an input): a tied head must move the embedding row too.
            logits[.., .., 40].sum().backward();
            opt.step();
        }
        Assert.False(before[40].eq(embed[40]).all().item<bool>(), "the head's gradient did not reach the shared embedding");
        using var probe = torch.randn(1, model.Config.HiddenSize);
        using var viaHead = model.LmHead(probe);
        using var viaEmbed = probe.matmul(embed.detach().t());
        TensorAssert.BitEqual(viaEmbed, viaHead, "head after the step");
        string saved = Path.Combine(tmp, "tied");
        HfCheckpoint.Save(model, saved);
        using var back = HfCheckpoint.Load(saved).Model;
        AssertSameState(model, back);
    }

    [Fact]
    public void Gpt2_checkpoint_without_prefix_and_with_attention_buffers_loads()
    {
        var gpt2 = FixtureModels.Gpt2;
        string dir = CopyOf(gpt2.Name);
        string path = Path.Combine(dir, HfCheckpoint.WeightsFile);
        var tensors = SafetensorsFile.ReadAll(path).ToDictionary(kv => kv.Key["transformer.".Length..], kv => kv.Value);
        tensors["h.0.attn.bias"] = torch.ones(1, 1, gpt2.MaxPositions, gpt2.MaxPositions).tril();
        tensors["h.0.attn.masked_bias"] = torch.tensor(-1e4f);
        SafetensorsFile.Write(path, tensors);
        using var a = HfCheckpoint.Load(gpt2.Dir).Model;
        using var b = HfCheckpoint.Load(dir).Model;
        AssertSameState(a, b);
    }

    [Fact]
    public void Missing_shard_is_an_error_naming_the_file()
    {
        string dir = CopyOf(FixtureModels.Sharded.Name);
        string shard = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, HfCheckpoint.IndexFile)))!["weight_map"]!.AsObject()
            .Select(kv => kv.Value!.GetValue<string>()).Max(StringComparer.Ordinal)!;
        File.Delete(Path.Combine(dir, shard));
        var e = LoadFails(dir);
        Assert.Contains(shard, e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void No_weights_file_is_an_error()
    {
        string dir = CopyOf(FixtureModels.Llama.Name);
        File.Delete(Path.Combine(dir, HfCheckpoint.WeightsFile));
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json", LoadFails(dir).Message);
    }

    [Fact]
    public void Unsupported_model_type_is_an_error_naming_it()
    {
        string dir = CopyOf(FixtureModels.Llama.Name);
        string cfg = Path.Combine(dir, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"llama\"", "\"falcon\""));
        var e = LoadFails(dir);
        Assert.Contains("unsupported model_type 'falcon'", e.Message);
    }

    [Fact]
    public void Missing_unexpected_and_misshaped_tensors_are_errors_naming_them()
    {
        var llama = FixtureModels.Llama;
        string dir = CopyOf(llama.Name);
        string path = Path.Combine(dir, HfCheckpoint.WeightsFile);
        var original = SafetensorsFile.ReadAll(path);
        int hidden = llama.HiddenSize;

        var t = new Dictionary<string, Tensor>(original);
        t.Remove("model.layers.1.mlp.up_proj.weight");
        SafetensorsFile.Write(path, t);
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight'", LoadFails(dir).Message);

        t = new Dictionary<string, Tensor>(original) { ["model.layers.0.self_attn.scale"] = torch.ones(4) };
        SafetensorsFile.Write(path, t);
        Assert.Contains("unexpected tensor 'model.layers.0.self_attn.scale'", LoadFails(dir).Message);

        t = new Dictionary<string, Tensor>(original) { ["model.norm.weight"] = torch.ones(hidden - 1) };
        SafetensorsFile.Write(path, t);
        var e = LoadFails(dir);
        Assert.Contains($"'model.norm.weight' has shape [{hidden - 1}], expected [{hidden}]", e.Message);
    }

    [Fact]
    public void Corrupt_weights_file_in_a_folder_is_an_error_naming_the_file()
    {
        string dir = CopyOf(FixtureModels.OfType("qwen2").Name);
        string path = Path.Combine(dir, HfCheckpoint.WeightsFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = LoadFails(dir);
        Assert.Contains(path, e.Message);
        Assert.Contains("past the end", e.Message);
    }

    /// <summary>Each tied Llama-family fixture (one per model type), saved under either name.</summary>
    public static TheoryData<string, string> TiedPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var m in FixtureModels.OnePerType(m => m.TiedHead && !m.LearnedPositions))
            foreach (var name in new[] { "lm_head.weight", "model.embed_tokens.weight" }) data.Add(m.Name, name);
        return data;
    }

    [Theory]
    [MemberData(nameof(TiedPairs))]
    public void A_tied_pair_saved_once_under_either_name_loads_and_generates_like_both(string folder, string storedAs)
    {
        string both = CopyOf(folder);
        string path = Path.Combine(both, HfCheckpoint.WeightsFile);
        var tensors = SafetensorsFile.ReadAll(path);
        var embed = tensors["model.embed_tokens.weight"];
        tensors["lm_head.weight"] = embed.clone();
        SafetensorsFile.Write(path, tensors);
        string one = CopyOf(folder);
        string onePath = Path.Combine(one, HfCheckpoint.WeightsFile);
        var only = new Dictionary<string, Tensor>(tensors);
        only.Remove("model.embed_tokens.weight");
        only.Remove("lm_head.weight");
        only[storedAs] = embed;
        string other = storedAs == "lm_head.weight" ? "model.embed_tokens.weight" : "lm_head.weight";
        SafetensorsFile.Write(onePath, only, new Dictionary<string, string> { [other] = storedAs }); // save_model's alias
        using var a = HfCheckpoint.Load(both).Model;
        using var b = HfCheckpoint.Load(one).Model;
        AssertSameState(a, b);
        var options = new AlignSharp.Generation.GenerationOptions { MaxNewTokens = 8 };
        var ga = AlignSharp.Generation.TextGenerator.Generate(a, [[3, 14, 15, 9]], options).Single();
        var gb = AlignSharp.Generation.TextGenerator.Generate(b, [[3, 14, 15, 9]], options).Single();
        Assert.Equal(ga.Tokens, gb.Tokens);
    }

    [Fact]
    public void Rotary_inv_freq_buffers_of_older_files_are_skipped_with_a_note()
    {
        var fixture = FixtureModels.OfType("qwen3");
        string dir = CopyOf(fixture.Name);
        string path = Path.Combine(dir, HfCheckpoint.WeightsFile);
        var t = SafetensorsFile.ReadAll(path);
        int half = (int)(fixture.Config["head_dim"] ?? fixture.HiddenSize / (int)fixture.Config["num_attention_heads"]!)! / 2;
        t["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones(half);
        t["model.layers.1.self_attn.rotary_emb.inv_freq"] = torch.ones(half);
        SafetensorsFile.Write(path, t);
        var loaded = HfCheckpoint.Load(dir);
        using var model = loaded.Model;
        using var original = HfCheckpoint.Load(fixture.Dir).Model;
        AssertSameState(original, model);
        var note = Assert.Single(loaded.Notes);
        Assert.Contains("'model.layers.0.self_attn.rotary_emb.inv_freq'", note);
        Assert.Contains("2 non-persistent buffers", note);
    }

    [Fact]
    public void An_untied_head_missing_but_named_as_an_alias_in_metadata_loads_from_its_target()
    {
        string dir = CopyOf(FixtureModels.Llama.Name);
        string path = Path.Combine(dir, HfCheckpoint.WeightsFile);
        var t = SafetensorsFile.ReadAll(path);
        t.Remove("lm_head.weight");
        SafetensorsFile.Write(path, t, new Dictionary<string, string> { ["lm_head.weight"] = "model.embed_tokens.weight" });
        using var model = HfCheckpoint.Load(dir).Model;
        var s = model.state_dict();
        TensorAssert.BitEqual(s["model.embed_tokens.weight"], s["lm_head.weight"], "aliased head");
    }

    [Fact]
    public void F16_storage_saves_f16_and_reloads_to_the_rounded_weights()
    {
        using var model = HfCheckpoint.Load(FixtureModels.OfType("gemma3_text").Dir).Model;
        string saved = Path.Combine(tmp, "f16");
        HfCheckpoint.Save(model, saved, new HfSaveOptions { DType = ScalarType.Float16 });
        using (var f = SafetensorsFile.Open(Path.Combine(saved, HfCheckpoint.WeightsFile)))
            Assert.All(f.Tensors.Values, e => Assert.Equal("F16", e.DType));
        Assert.Equal("float16", JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "config.json")))!["torch_dtype"]!.GetValue<string>());
        using var back = HfCheckpoint.Load(saved).Model;
        var a = model.state_dict();
        var b = back.state_dict();
        foreach (var k in a.Keys) TensorAssert.BitEqual(a[k].to(ScalarType.Float16).to(ScalarType.Float32), b[k], k);
    }

    [Theory]
    [InlineData("[1, 106]", new[] { 1, 106 })]
    [InlineData("107", new[] { 107 })]
    public void Generation_config_eos_ids_one_or_a_list_join_the_config_ones(string eos, int[] added)
    {
        // A fixture whose config.json lists its eos_token_id as a list.
        var fixture = FixtureModels.One("with a list eos_token_id", m => m.SingleFileF32 && m.Config["eos_token_id"] is JsonArray);
        string dir = CopyOf(fixture.Name);
        var fromConfig = fixture.Config["eos_token_id"]!.AsArray().Select(x => (int)x!);
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), $"{{\"eos_token_id\": {eos}}}");
        var loaded = HfCheckpoint.Load(dir);
        using var model = loaded.Model;
        Assert.Equal(fromConfig.Concat(added).Distinct(), loaded.EosTokenIds); // the config's first, then the new ones
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), "{\"eos_token_id\": \"end\"}");
        var e = LoadFails(dir);
        Assert.Contains("generation_config.json: 'eos_token_id' must be an integer", e.Message);
    }
}
