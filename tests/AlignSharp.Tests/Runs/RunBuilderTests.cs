using AlignSharp.Tests.Cli;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Runs;
using AlignSharp.Tests.Training;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Tests.Runs;

/// <summary>
/// The composition root: device and dtype read from the config, placed once, and carried through training and saving.
/// Serial: building a fresh model seeds torch's global generator.
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class RunBuilderTests
{
    private static RunConfig Config(string dir, string extra, string source = "run.yaml")
    {
        string data = Path.Combine(dir, "pairs.jsonl");
        // Chosen completions are one word, rejected ones another: a tiny model overfits them in a few dozen steps.
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i => $"{{\"prompt\":\"q{i}:\",\"chosen\":\" yes\",\"rejected\":\" no\"}}"));
        return RunConfig.FromTree(ConfigTree.Parse($$"""
            model: {hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 32}
            tokenizer: byte
            data: {train: {{data}}, eval: {{data}}, max_length: 24}
            objective: {name: dpo, beta: 0.1}
            reference: frozen
            training: {batch_size: 8, max_steps: 40, learning_rate: 0.03, schedule: constant, eval_steps: 5, save_total_limit: 1}
            output_dir: {{Path.Combine(dir, "run")}}
            {{extra}}
            """, source));
    }

    [Fact]
    public void Cuda_without_a_cuda_device_is_one_clear_error_naming_the_setting()
    {
        if (torch.cuda.is_available()) return; // this check is about CPU-only runtimes; on a GPU machine cuda is valid
        string dir = TinyRun.TempDir();
        var config = Config(dir, "") with { Training = new TrainingOptions { Device = "cuda:0" } };
        var fromYaml = RunConfig.FromTree(ConfigTree.Parse($$"""
            training: {device: cuda}
            """, "gpu.yaml"));
        var e = Assert.Throws<ConfigException>(() => RunBuilder.Build(fromYaml, new RecordingObserver()));
        Assert.StartsWith("gpu.yaml:1: training.device is 'cuda' but no CUDA device is available", e.Message);
        Assert.Contains("CPU-only", e.Message);
        Assert.Throws<ConfigException>(() => ComputeTarget.From(config));
        Assert.Contains("cuda:N", Assert.Throws<ConfigException>(() => ComputeTarget.ParseDevice("gpu")).Message);
        Assert.Equal(DeviceType.CPU, ComputeTarget.ParseDevice("cpu").type);
    }

    [Fact]
    public void Bfloat16_run_trains_with_rising_margin_and_saves_bf16_safetensors()
    {
        string dir = TinyRun.TempDir();
        var config = Config(dir, "") with { Model = Config(dir, "").Model with { Dtype = ModelDType.Bfloat16 } };
        var observer = new RecordingObserver();
        IReadOnlyList<Dictionary<string, double>> log;
        using (var run = RunBuilder.Build(config, observer))
        {
            Assert.Equal(torch.ScalarType.BFloat16, run.Target.DType);
            Assert.All(run.Policy.parameters(), p => Assert.Equal(torch.ScalarType.BFloat16, p.dtype));
            log = run.Train();
        }
        var losses = log.Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"loss {l}"));
        var margins = log.Where(m => m.ContainsKey("eval_rewards/margins")).Select(m => m["eval_rewards/margins"]).ToList();
        Assert.True(margins.Count >= 2);
        Assert.True(margins[^1] > margins[0] && margins[^1] > 0, $"eval margins {string.Join(", ", margins)}");

        string final = Path.Combine(dir, "run", "final");
        using (var file = SafetensorsFile.Open(Path.Combine(final, HfCheckpoint.WeightsFile)))
            Assert.All(file.Tensors.Values, t => Assert.Equal("BF16", t.DType));
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", File.ReadAllText(Path.Combine(final, "config.json")));
        using var back = RunBuilder.Load(final, ComputeTarget.Cpu).Model;
        Assert.All(back.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Bf16_precision_run_learns_keeps_float32_weights_saves_float32_and_resumes_exactly()
    {
        string dir = TinyRun.TempDir();
        var plain = Config(dir, "");
        var config = plain with { Training = plain.Training with { Precision = ComputePrecision.Bfloat16, SaveSteps = 20, SaveTotalLimit = 0 } };
        var observer = new RecordingObserver();
        IReadOnlyList<Dictionary<string, double>> log;
        using (var run = RunBuilder.Build(config, observer))
        {
            Assert.Equal(torch.ScalarType.BFloat16, run.Target.MatmulDType);
            Assert.Equal(torch.ScalarType.BFloat16, run.Policy.MatmulDType);
            Assert.Equal(torch.ScalarType.BFloat16, run.ReferenceModel!.MatmulDType);
            log = run.Train();
            Assert.All(run.Policy.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
        }
        var losses = log.Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();
        Assert.Equal(Math.Log(2), losses[0], 6); // policy and reference compute alike: ln 2 at the first step
        var margins = log.Where(m => m.ContainsKey("eval_rewards/margins")).Select(m => m["eval_rewards/margins"]).ToList();
        Assert.True(margins[^1] > margins[0] && margins[^1] > 0, $"eval margins {string.Join(", ", margins)}");

        string final = Path.Combine(dir, "run", "final");
        using (var file = SafetensorsFile.Open(Path.Combine(final, HfCheckpoint.WeightsFile)))
            Assert.All(file.Tensors.Values, t => Assert.Equal("F32", t.DType));

        // Resuming from the step-20 checkpoint redoes steps 21..40 exactly (the run is deterministic under bf16 too).
        using (var again = RunBuilder.Build(config, new RecordingObserver()))
        {
            var rest = again.Train(Path.Combine(dir, "run", "checkpoint-20"));
            var redone = rest.Where(m => m.ContainsKey("loss")).Select(m => m["loss"]).ToList();
            var expected = losses.Skip(20).ToList();
            Assert.Equal(expected.Count, redone.Count);
            for (int i = 0; i < expected.Count; i++)
                Assert.True(Math.Abs(expected[i] - redone[i]) < 1e-6, $"step {i + 21}: {expected[i]} vs {redone[i]}");
        }
    }

    [Fact]
    public void A_bad_precision_names_the_key_and_float32_is_the_default()
    {
        var config = RunConfig.FromTree(ConfigTree.Parse("tokenizer: byte\n", "x.yaml"));
        Assert.Equal(ComputePrecision.Float32, config.Training.Precision);
        Assert.Null(ComputeTarget.From(config).MatmulDType);
        var e = Assert.Throws<ConfigException>(() => RunConfig.FromTree(ConfigTree.Parse("training:\n  precision: fp16\n", "x.yaml")));
        Assert.Equal("x.yaml:2: 'training.precision' must be one of float32, bfloat16, got 'fp16'", e.Message);
    }

    [Fact]
    public void A_run_without_data_holds_the_reference_path_model_as_a_frozen_reference_it_can_move()
    {
        string dir = TinyRun.TempDir();
        // A saved "other" model (a different seed) to serve as reference_path; the data section is never read.
        var baseConfig = Config(dir, "") with { Data = new DataSection { Train = Path.Combine(dir, "missing.jsonl") } };
        string other = Path.Combine(dir, "other");
        using (var model = RunBuilder.StartingModel(baseConfig with { Training = new TrainingOptions { Seed = 99 } },
            RunTokenizer.Load(RunTokenizer.Byte), ComputeTarget.Cpu))
            HfCheckpoint.Save(model, other);
        using var run = RunBuilder.BuildWithoutData(baseConfig with { ReferencePath = other }, new RecordingObserver());
        Assert.Equal(0, run.Setup.Train.Count);
        var reference = Assert.IsType<FrozenReference>(run.Setup.Reference);
        Assert.Same(reference.Model, run.ReferenceModel);
        Assert.All(run.ReferenceModel!.parameters(), p => Assert.False(p.requires_grad));
        using var expected = RunBuilder.Load(other, ComputeTarget.Cpu).Model;
        var want = expected.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in run.ReferenceModel.named_parameters())
            Assert.True(p.eq(want[name]).all().item<bool>(), $"reference parameter {name} is not reference_path's");
        var policy = run.Policy.named_parameters().First();
        Assert.False(policy.parameter.eq(want[policy.name]).all().item<bool>(), "the policy is the starting model, not the reference");

        // Without reference_path the reference is a second copy of the starting model.
        using var plain = RunBuilder.BuildWithoutData(baseConfig, new RecordingObserver());
        var start = plain.Policy.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(plain.ReferenceModel!.named_parameters(), p => Assert.True(p.parameter.eq(start[p.name]).all().item<bool>()));
        Assert.NotSame(plain.Policy, plain.ReferenceModel);

        var adapter = baseConfig with { Adapter = new AdapterSection { Type = AdapterKind.Lora } };
        Assert.StartsWith("adapter: a run without a data section",
            Assert.Throws<ConfigException>(() => RunBuilder.BuildWithoutData(adapter, new RecordingObserver())).Message);
    }

    [Fact]
    public void Dtype_and_device_default_to_float32_on_the_cpu_and_bad_dtype_names_the_line()
    {
        var config = RunConfig.FromTree(ConfigTree.Parse("tokenizer: byte\n", "x.yaml"));
        Assert.Equal(ComputeTarget.Cpu, ComputeTarget.From(config));
        var e = Assert.Throws<ConfigException>(() => RunConfig.FromTree(ConfigTree.Parse("model:\n  dtype: float16\n", "x.yaml")));
        Assert.Equal("x.yaml:2: 'model.dtype' must be one of float32, bfloat16, got 'float16'", e.Message);
    }
}

/// <summary><c>training.device: cuda</c> through the CLI on a CPU-only runtime.</summary>
[Collection("Console")]
public sealed class DeviceCliTests
{
    [Fact]
    public void Cuda_from_the_cli_exits_1_with_one_line()
    {
        if (torch.cuda.is_available()) return;
        string dir = TinyRun.TempDir();
        string yaml = Path.Combine(dir, "run.yaml");
        File.WriteAllText(yaml, "tokenizer: byte\n");
        var (code, _, err) = CliConsole.Run("train", "--config", yaml, "--set", "training.device=cuda:1");
        Assert.Equal(1, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: --set training.device=cuda:1: training.device is 'cuda:1' but no CUDA device", lines[0]);
    }
}
