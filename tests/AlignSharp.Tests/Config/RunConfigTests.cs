using AlignSharp.Config;
using AlignSharp.Training;

namespace AlignSharp.Tests.Config;

public sealed class RunConfigTests
{
    private static RunConfig Parse(string yaml, params string[] sets)
    {
        var tree = ConfigTree.Parse(yaml, "run.yaml");
        foreach (var s in sets) tree.Set(s);
        return RunConfig.FromTree(tree);
    }

    [Fact]
    public void Values_bind_to_records_and_overrides_win()
    {
        var c = Parse("""
            training:
              learning_rate: 1e-4
              schedule: cosine
              batch_size: 4
            objective:
              name: dpo
              beta: 0.25
            output_dir: out
            """, "training.batch_size=16", "data.max_length=99");
        Assert.Equal(1e-4, c.Training.LearningRate);
        Assert.Equal(ScheduleKind.Cosine, c.Training.Schedule);
        Assert.Equal(16, c.Training.BatchSize);
        Assert.Equal(99, c.Data.MaxLength);
        Assert.Equal("out", c.OutputDir);
        Assert.Equal(0.25, ((AlignSharp.Objectives.Dpo)c.CreateObjective()).Beta);
        Assert.Equal(new TrainingOptions().AdamBeta2, c.Training.AdamBeta2); // untouched keys keep defaults
    }

    [Fact]
    public void A_weighted_list_of_objectives_builds_a_combination()
    {
        var c = Parse("""
            objectives:
              - {name: dpo, weight: 1.0, beta: 0.2}
              - {name: sft, weight: 0.5}
            """);
        var combined = Assert.IsType<AlignSharp.Objectives.CombinedObjective>(c.CreateObjective());
        Assert.Equal(["dpo", "sft"], combined.Members.Select(m => m.Objective.Id));
        Assert.Equal([1.0, 0.5], combined.Members.Select(m => m.Weight));
        Assert.True(combined.NeedsReference);
    }

    [Fact]
    public void A_misspelt_key_is_named_with_file_and_line()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("training:\n  batch_size: 4\n  lerning_rate: 1e-4\n"));
        Assert.Equal("run.yaml:3: unknown key 'training.lerning_rate' (did you mean 'learning_rate'?)", e.Message);
    }

    [Fact]
    public void A_bad_value_is_named_with_its_override()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("training:\n  batch_size: 4\n", "training.batch_size=many"));
        Assert.Equal("--set training.batch_size=many: 'training.batch_size' must be a whole number, got 'many'", e.Message);
    }

    [Fact]
    public void An_unknown_objective_parameter_is_named()
    {
        var c = Parse("objective:\n  name: dpo\n  bta: 0.1\n");
        var e = Assert.Throws<ConfigException>(() => c.CreateObjective());
        Assert.StartsWith("run.yaml:3:", e.Message);
        Assert.Contains("'bta'", e.Message);
    }

    [Fact]
    public void An_unknown_section_and_bad_enum_are_errors()
    {
        Assert.Contains("unknown key 'trainig'", Assert.Throws<ConfigException>(() => Parse("trainig:\n  seed: 1\n")).Message);
        Assert.Contains("must be one of linear, cosine, constant", Assert.Throws<ConfigException>(() => Parse("training:\n  schedule: exp\n")).Message);
    }

    [Fact]
    public void Invalid_yaml_names_the_line()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("training:\n  seed: [1\n"));
        Assert.StartsWith("run.yaml:", e.Message);
        Assert.Contains("invalid YAML", e.Message);
    }
}
