using System.Collections.Concurrent;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Online;
using AlignSharp.Runs;
using AlignSharp.Training;

namespace AlignSharp.Tests.Online;

/// <summary>Tiny online configs, base models shared by the online tests, and a silent observer.</summary>
internal static class OnlineFixtures
{
    private static readonly ConcurrentDictionary<OnlineTask, Lazy<string>> Bases = new();

    /// <summary>Size of the shared base models (byte GPT-2).</summary>
    public const string ModelYaml = "model: {hidden_size: 32, num_layers: 1, num_heads: 4, max_positions: 128}";

    /// <summary>
    /// A base model of the task trained once per test process (150 next-token steps on its corpus), as a Hugging Face
    /// folder: the starting point of every online test, so samples are task-like text with scores that differ.
    /// </summary>
    public static string Base(OnlineTask task) => Bases.GetOrAdd(task, t => new Lazy<string>(() =>
    {
        string dir = Path.Combine(TestTemp.Root, $"online-base-{t}"); // deleted with the process's temporary root
        var config = Parse($"""
            {ModelYaml}
            tokenizer: byte
            training: {"{"}seed: 3, threads: 1{"}"}
            output_dir: {dir}
            online:
              task: {t.ToString().ToLowerInvariant()}
              base: {"{"}pretrain_steps: 150, corpus_size: 1000, batch_size: 16, learning_rate: 0.01{"}"}
            """);
        var run = OnlineBaseModel.Ensure(config, new OnlineTaskSource(t), new Silent());
        return run.Model.Path!;
    })).Value;

    /// <summary>
    /// A tiny review-task loop from the shared base: 3 iterations of 4 prompts x 3 samples of 12 tokens.
    /// </summary>
    public static string TinyYaml(string outputDir, string extraOnline = "",
        string objective = "{name: dpo, beta: 0.1}", int iterations = 3) => $"""
        {ModelYaml}
        model: {"{"}path: {Base(OnlineTask.Review)}{"}"}
        tokenizer: byte
        objective: {objective}
        training: {"{"}batch_size: 4, learning_rate: 0.01, seed: 5, threads: 1{"}"}
        output_dir: {outputDir}
        online:
          iterations: {iterations}
          prompts_per_iteration: 4
        {Indent(extraOnline)}
          sample: {"{"}n: 3, max_new_tokens: 12, temperature: 1.0, batch_size: 8{"}"}
        """.Replace(ModelYaml + "\n", "");

    private static string Indent(string lines) =>
        string.Join("\n", lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l));

    public static OnlineConfig Parse(string yaml, string source = "test.yaml") =>
        OnlineConfig.FromTree(ConfigTree.Parse(yaml, source));

    public static string TempDir()
    {
        return TestTemp.Dir("online"); // deleted with the process's temporary root
    }

    internal sealed class Silent : ITrainingObserver
    {
        public List<string> Messages { get; } = [];

        public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) { }

        public void OnMessage(string message) => Messages.Add(message);
    }
}
