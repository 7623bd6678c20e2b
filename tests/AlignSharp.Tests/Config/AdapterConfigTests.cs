using AlignSharp.Config;
using AlignSharp.Runs;

namespace AlignSharp.Tests.Config;

public sealed class AdapterConfigTests
{
    private static RunConfig Parse(string yaml, params string[] sets)
    {
        var tree = ConfigTree.Parse(yaml, "run.yaml");
        foreach (var s in sets) tree.Set(s);
        return RunConfig.FromTree(tree);
    }

    [Fact]
    public void The_adapter_section_binds_peft_names_and_lists()
    {
        var c = Parse("""
            adapter:
              type: lora
              r: 16
              alpha: 32
              dropout: 0.05
              target_modules: [q_proj, k_proj, v_proj]
              use_rslora: true
              modules_to_save:
                - lm_head
            training:
              gradient_checkpointing: true
            """);
        var o = RunBuilder.LoraOptionsOf(c.Adapter)!;
        Assert.Equal(16, o.R);
        Assert.Equal(32, o.Alpha);
        Assert.Equal(0.05, o.Dropout);
        Assert.Equal(["q_proj", "k_proj", "v_proj"], o.TargetModules!);
        Assert.True(o.UseRsLora);
        Assert.Equal(32 / Math.Sqrt(16), o.Scaling);
        Assert.Equal(["lm_head"], o.ModulesToSave);
        Assert.True(c.Training.GradientCheckpointing);
    }

    [Fact]
    public void Without_an_adapter_section_the_run_trains_every_parameter_and_set_overrides_lists()
    {
        Assert.Null(RunBuilder.LoraOptionsOf(Parse("output_dir: out").Adapter));
        var c = Parse("adapter: {type: lora}", "adapter.target_modules=q_proj,o_proj", "reference_path=/models/ref");
        Assert.Equal(["q_proj", "o_proj"], RunBuilder.LoraOptionsOf(c.Adapter)!.TargetModules!);
        Assert.Null(Parse("adapter: {type: lora}").Adapter.TargetModules); // the family's defaults
        Assert.Equal("/models/ref", c.ReferencePath);
    }

    [Fact]
    public void Bad_adapter_keys_and_values_name_the_place()
    {
        var unknown = Assert.Throws<ConfigException>(() => Parse("adapter:\n  type: lora\n  rank: 8\n"));
        Assert.Contains("run.yaml:3", unknown.Message);
        Assert.Contains("'adapter.rank'", unknown.Message);
        var kind = Assert.Throws<ConfigException>(() => Parse("adapter:\n  type: qlora\n"));
        Assert.Contains("'adapter.type'", kind.Message);
        Assert.Contains("lora", kind.Message);
        var list = Assert.Throws<ConfigException>(() => Parse("adapter:\n  target_modules: {a: 1}\n"));
        Assert.Contains("'adapter.target_modules'", list.Message);
    }

    [Fact]
    public void The_lora_example_config_parses()
    {
        var c = RunConfig.Load(Path.Combine(TestSetup.RepoRoot, "examples", "lora-dpo.yaml"));
        var o = RunBuilder.LoraOptionsOf(c.Adapter)!;
        Assert.Equal(16, o.R);
        Assert.Equal(2.0, o.Scaling);
        Assert.True(c.Training.GradientCheckpointing);
        Assert.Equal(ModelDType.Bfloat16, c.Model.Dtype);
    }
}
