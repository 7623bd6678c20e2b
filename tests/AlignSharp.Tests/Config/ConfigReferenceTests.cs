using AlignSharp.Config;
using AlignSharp.Runs;
using AlignSharp.Training;

namespace AlignSharp.Tests.Config;

/// <summary>
/// docs/config.md is what the generator makes of the config records; every key is documented and every number has
/// a range; --print-config's YAML loads back to the same config; TRL's argument names and misspelt keys name our key;
/// numbers out of range are errors at the place they were written.
/// </summary>
public sealed class ConfigReferenceTests
{
    private static RunConfig Parse(string yaml, params string[] sets)
    {
        var tree = ConfigTree.Parse(yaml, "run.yaml");
        foreach (var s in sets) tree.Set(s);
        return RunConfig.FromTree(tree);
    }

    [Fact]
    public void Committed_docs_config_md_matches_the_config_records()
    {
        string committed = File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "docs", "config.md"));
        Assert.True(committed == ConfigDocs.Markdown(),
            $"docs/config.md is out of date with the config records; regenerate it with: {ConfigDocs.RegenerateCommand}");
    }

    [Fact]
    public void Every_key_is_documented_and_every_number_has_a_range()
    {
        var keys = ConfigSchema.Keys;
        Assert.Contains(keys, k => k.Key == "training.batch_size");
        Assert.Contains(keys, k => k.Key == "model.path");
        Assert.Contains(keys, k => k.Key == "output_dir");
        foreach (var k in keys)
        {
            Assert.False(string.IsNullOrWhiteSpace(k.Setting.Meaning), k.Key);
            var type = Nullable.GetUnderlyingType(k.Property.PropertyType) ?? k.Property.PropertyType;
            if (type == typeof(int) || type == typeof(long) || type == typeof(double))
                Assert.True(k.Setting.Bounded, $"{k.Key} is a number without a range");
            if (k.Default is double or int or long)
                Assert.True(k.Setting.Accepts(Convert.ToDouble(k.Default)), $"{k.Key}'s default is outside its range");
        }
        string markdown = ConfigDocs.Markdown();
        foreach (var k in keys) Assert.Contains($"| `{k.Key}` |", markdown);
        // The documented keys are the keys the binder accepts: each one binds through --set with its default.
        foreach (var k in keys)
        {
            string value = ConfigYaml.Scalar(k.Default).Trim('[', ']');
            var c = Parse("", $"{k.Key}={value}");
            object holder = k.Section.Length == 0 ? new TopLevelView(c) : Section(c, k.Section);
            Assert.Equal(ConfigYaml.Scalar(k.Default), ConfigYaml.Scalar(k.Section.Length == 0
                ? ((TopLevelView)holder).Get(k.Name) : k.Property.GetValue(holder)));
        }
    }

    public static TheoryData<string, string[]> Configs => new()
    {
        { File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "examples", "dpo-tiny.yaml")), [] },
        { File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "examples", "lora-dpo.yaml")), ["training.device=cuda:0"] },
        { "", [] },
        {
            """
            tokenizer: "a folder: with # odd, characters"
            data: {train: "x.jsonl", max_prompt_length: 100, eval_fraction: 0.125}
            objectives:
              - {name: dpo, weight: 1.0, beta: 0.2}
              - {name: sft, weight: 0.5}
            training: {learning_rate: 3.3e-7, warmup_ratio: 0.1, drop_last: true, max_steps: -1, seed: 0}
            output_dir: "null"
            """,
            ["adapter.target_modules=q_proj,v_proj", "training.schedule=cosine"]
        },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Printed_config_loads_back_to_the_same_config(string yaml, string[] sets)
    {
        var config = Parse(yaml, sets);
        string printed = ConfigYaml.Write(config, "header line");
        var again = RunConfig.FromTree(ConfigTree.Parse(printed, "printed.yaml"));
        Assert.Equal(RunFolder.Flatten(config), RunFolder.Flatten(again));
        Assert.Equal(printed, ConfigYaml.Write(again, "header line")); // a fixed point
        foreach (var k in ConfigSchema.Keys) // every key is written, defaults included
            Assert.Contains(k.Name + ":", printed);
    }

    [Theory]
    [InlineData("training:\n  per_device_train_batch_size: 4\n", "training.per_device_train_batch_size",
        "did you mean 'training.batch_size'? it is TRL's per_device_train_batch_size")]
    [InlineData("model:\n  model_name_or_path: x\n", "model.model_name_or_path",
        "did you mean 'model.path'? it is TRL's model_name_or_path")]
    [InlineData("training:\n  num_train_epochs: 3\n", "training.num_train_epochs",
        "did you mean 'training.epochs'? it is TRL's num_train_epochs")]
    [InlineData("training:\n  lr_scheduler_type: cosine\n", "training.lr_scheduler_type",
        "did you mean 'training.schedule'? it is TRL's lr_scheduler_type")]
    [InlineData("training:\n  max_length: 512\n", "training.max_length", "did you mean 'data.max_length'?")]
    [InlineData("training:\n  max_prompt_length: 128\n", "training.max_prompt_length",
        "did you mean 'data.max_prompt_length'?")]
    [InlineData("training:\n  beta: 0.1\n", "training.beta", "did you mean 'objective.beta'? it is TRL's beta; objectives and their parameters: docs/objectives.md")]
    [InlineData("training:\n  output_dir: out\n", "training.output_dir", "did you mean 'output_dir'?")]
    [InlineData("training:\n  dataloader_drop_last: true\n", "training.dataloader_drop_last",
        "did you mean 'training.drop_last'? it is TRL's dataloader_drop_last")]
    [InlineData("adapter:\n  lora_r: 16\n", "adapter.lora_r", "did you mean 'adapter.r'? it is TRL's lora_r")]
    [InlineData("training:\n  bacth_size: 4\n", "training.bacth_size", "did you mean 'batch_size'?")]
    [InlineData("data:\n  max_lenght: 4\n", "data.max_lenght", "did you mean 'max_length'?")]
    [InlineData("training:\n  num_train_epoch: 2\n", "training.num_train_epoch",
        "did you mean 'training.epochs'? it is TRL's num_train_epochs")]
    public void TRL_names_and_misspellings_name_our_key(string yaml, string key, string hint)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(yaml));
        Assert.Equal($"run.yaml:2: unknown key '{key}' ({hint})", e.Message);
    }

    [Fact]
    public void TRL_names_at_the_top_level_and_in_the_objective_name_our_key()
    {
        var top = Assert.Throws<ConfigException>(() => Parse("learning_rate: 1e-5\n"));
        Assert.StartsWith("run.yaml:1: unknown key 'learning_rate' (did you mean 'training.learning_rate'?; sections:",
            top.Message);
        var loss = Assert.Throws<ConfigException>(() => Parse("objective:\n  name: dpo\n  loss_type: sigmoid\n"));
        Assert.StartsWith("run.yaml:3: 'objective.loss_type' is TRL's name; here the objective is 'objective.name'",
            loss.Message);
    }

    [Theory]
    [InlineData("training.batch_size=0", "'training.batch_size' must be >= 1, got 0")]
    [InlineData("training.learning_rate=-1e-5",
        "'training.learning_rate' must be > 0, got -1e-5 (a negative rate would train towards the rejected completions)")]
    [InlineData("training.learning_rate=0", "'training.learning_rate' must be > 0, got 0")]
    [InlineData("training.warmup_ratio=-0.5", "'training.warmup_ratio' must be in [0, 1], got -0.5")]
    [InlineData("training.warmup_ratio=1.5", "'training.warmup_ratio' must be in [0, 1], got 1.5")]
    [InlineData("training.max_steps=-5",
        "'training.max_steps' must be >= -1, got -5 (0 or -1: as many steps as training.epochs take)")]
    [InlineData("training.epochs=0", "'training.epochs' must be > 0, got 0")]
    [InlineData("training.gradient_accumulation_steps=0", "'training.gradient_accumulation_steps' must be >= 1, got 0")]
    [InlineData("training.adam_beta2=1", "'training.adam_beta2' must be in [0, 1), got 1")]
    [InlineData("training.max_grad_norm=NaN", "'training.max_grad_norm' must be >= 0, got NaN")]
    [InlineData("data.eval_fraction=1", "'data.eval_fraction' must be in [0, 1), got 1")]
    [InlineData("adapter.r=0", "'adapter.r' must be >= 1, got 0")]
    [InlineData("output_dir=null", "'output_dir' must not be null")]
    public void Numbers_out_of_range_name_the_override(string set, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Parse("training:\n  batch_size: 4\n", set));
        Assert.Equal($"--set {set}: {message}", e.Message);
    }

    [Fact]
    public void A_number_out_of_range_in_the_file_names_its_line_and_minus_one_steps_means_epochs()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("training:\n  seed: 1\n  warmup_ratio: -0.5\n"));
        Assert.Equal("run.yaml:3: 'training.warmup_ratio' must be in [0, 1], got -0.5", e.Message);
        var c = Parse("training:\n  max_steps: -1\n  epochs: 2\n  batch_size: 4\n");
        Assert.Equal(PreferenceTrainer.StepsFor(c.Training with { MaxSteps = 0 }, 10), PreferenceTrainer.StepsFor(c.Training, 10));
        Assert.Equal(6, PreferenceTrainer.StepsFor(c.Training, 10)); // 2 epochs x ceil(10 / 4) batches
    }

    [Fact]
    public void Keys_that_depend_on_each_other_are_checked_together()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("data:\n  max_length: 64\n  max_prompt_length: 64\n"));
        Assert.Equal("run.yaml:3: 'data.max_prompt_length' (64) must be less than data.max_length (64), or no " +
            "completion token would be kept", e.Message);
        var heads = Assert.Throws<ConfigException>(() => Parse("model:\n  hidden_size: 30\n  num_heads: 4\n"));
        Assert.StartsWith("run.yaml:2: 'model.hidden_size' (30) must be a multiple of model.num_heads (4)", heads.Message);
    }

    private sealed record TopLevelView(RunConfig C)
    {
        public object? Get(string name) => name switch
        {
            "tokenizer" => C.Tokenizer,
            "reference" => C.Reference,
            "reference_path" => C.ReferencePath,
            "output_dir" => C.OutputDir,
            _ => throw new ArgumentException(name),
        };
    }

    private static object Section(RunConfig c, string section) => section switch
    {
        "model" => c.Model,
        "data" => c.Data,
        "adapter" => c.Adapter,
        "training" => c.Training,
        _ => throw new ArgumentException(section),
    };
}
