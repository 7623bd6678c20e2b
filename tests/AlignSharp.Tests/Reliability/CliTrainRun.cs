using AlignSharp.Runs;
using System.Text;
using System.Text.Json.Nodes;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// A tiny training run driven through the CLI in a child process: a fresh byte-level GPT-2 (hidden 16, one layer),
/// 16 synthetic pairs, batch 4 (so 4 steps per epoch), the default linear schedule after 2 warm-up steps, a checkpoint
/// and a metrics line every step, one intra-op thread, and a private cache folder. Each run takes a few seconds.
/// </summary>
internal sealed class CliTrainRun
{
    public const int MaxSteps = 8;

    private CliTrainRun(string dir, string objective)
    {
        Dir = dir;
        Output = Path.Combine(dir, "out");
        Cache = Path.Combine(dir, "cache");
        Config = Path.Combine(dir, "run.yaml");
        string data = Path.Combine(dir, "pairs.jsonl");
        var rng = new Random(11);
        string Letters(string alphabet, int n) => new(Enumerable.Range(0, n).Select(_ => alphabet[rng.Next(alphabet.Length)]).ToArray());
        var lines = Enumerable.Range(0, 16).Select(i => new JsonObject
        {
            ["prompt"] = $"q{i}: {Letters("klmnop", rng.Next(2, 8))}",
            ["chosen"] = Letters("abcdef", rng.Next(2, 10)),
            ["rejected"] = Letters("uvwxyz", rng.Next(2, 10)),
        }.ToJsonString());
        File.WriteAllText(data, string.Join('\n', lines) + "\n", new UTF8Encoding(false));
        File.WriteAllText(Config, $"""
            model:
              hidden_size: 16
              num_layers: 1
              num_heads: 2
              max_positions: 64
            tokenizer: byte
            data:
              train: {data}
              max_length: 40
            objective:
              name: {objective}
            reference: cached
            training:
              batch_size: 4
              max_steps: {MaxSteps}
              learning_rate: 0.01
              warmup_steps: 2
              save_steps: 1
              save_total_limit: 0
              logging_steps: 1
              threads: 1
              seed: 5
            output_dir: {Output}
            """);
    }

    /// <summary>Folder holding the data, config, cache and output.</summary>
    public string Dir { get; }

    /// <summary>The run's output_dir.</summary>
    public string Output { get; }

    /// <summary>The run's private ALIGNSHARP_CACHE.</summary>
    public string Cache { get; }

    /// <summary>The YAML config.</summary>
    public string Config { get; }

    /// <summary>A new run folder for <paramref name="objective"/>.</summary>
    public static CliTrainRun Create(string objective) => new(TestTemp.Dir("cli-run"), objective);

    /// <summary>Runs <c>alignsharp train --config run.yaml</c> plus <paramref name="extra"/>.</summary>
    public CliRun Train(IEnumerable<string> extra, IReadOnlyDictionary<string, string>? env = null,
        Func<string, bool>? killWhen = null, Action<System.Diagnostics.Process, string>? onLine = null)
    {
        var environment = new Dictionary<string, string>(env ?? new Dictionary<string, string>())
        {
            ["ALIGNSHARP_CACHE"] = Cache,
        };
        return CliProcess.Run(["train", "--config", Config, .. extra], environment, killWhen, onLine);
    }

    /// <summary>metrics.jsonl's lines.</summary>
    public string[] MetricsLines => File.ReadAllLines(Path.Combine(Output, "metrics.jsonl"));

    /// <summary>The step saved in a checkpoint folder's trainer_state.json.</summary>
    public static int StepOf(string checkpoint) =>
        (int)JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!["global_step"]!;

    /// <summary>
    /// Asserts that two folders hold the same files with the same bytes; trainer_state.json is compared field by
    /// field first so that a failure names what differs (step, data position, generator or objective state).
    /// </summary>
    public static void AssertSameFiles(string expected, string actual)
    {
        var names = Directory.GetFiles(expected).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(names);
        Assert.Equal(names, Directory.GetFiles(actual).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        string state = Path.Combine(expected, "trainer_state.json");
        if (File.Exists(state))
        {
            var e = JsonNode.Parse(File.ReadAllText(state))!.AsObject();
            var a = JsonNode.Parse(File.ReadAllText(Path.Combine(actual, "trainer_state.json")))!.AsObject();
            foreach (var (key, value) in e)
                Assert.True(JsonNode.DeepEquals(value, a[key]), $"trainer_state.json: '{key}' is {a[key]?.ToJsonString()}, expected {value?.ToJsonString()}");
        }
        foreach (var name in names)
        {
            // the resolved config names each run's own paths (data, output_dir); its presence is checked above
            if (name == RunOutputFiles.ConfigFile) continue;
            var (x, y) = (File.ReadAllBytes(Path.Combine(expected, name!)), File.ReadAllBytes(Path.Combine(actual, name!)));
            Assert.True(x.AsSpan().SequenceEqual(y), $"{Path.GetFileName(actual)}/{name} differs from the uninterrupted run's");
        }
    }
}
