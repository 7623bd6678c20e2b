using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Objectives;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Tests.Training;

/// <summary>A tiny GPT-2 and synthetic token pairs for trainer tests (no tokenizer needed).</summary>
internal static class TinyRun
{
    public const int Vocab = 24;

    public static ModelConfig Config => ModelConfig.TinyGpt2(Vocab, hidden: 16, layers: 1, heads: 2, maxPositions: 32);

    /// <summary>
    /// A model whose weights come from a private generator seeded with <paramref name="seed"/>: the same seed gives the
    /// same weights even while other test classes use torch's global generator in parallel.
    /// </summary>
    public static Gpt2Model Model(long seed = 1)
    {
        var model = new Gpt2Model(Config);
        using var g = new torch.Generator((ulong)seed);
        using var _ = torch.no_grad();
        foreach (var (name, p) in model.named_parameters().OrderBy(x => x.name, StringComparer.Ordinal))
        {
            using var r = torch.randn(p.shape, p.dtype, generator: g);
            p.copy_(name.EndsWith(".weight") && p.dim() == 1 ? 1 + 0.1 * r : 0.1 * r);
        }
        return model;
    }

    /// <summary>Pairs whose chosen completions use low ids and rejected ones high ids, of varied lengths.</summary>
    public static List<TokenizedPair> Pairs(int n, int seed = 3)
    {
        var rng = new Random(seed);
        int[] Seq(int lo, int hi, int len) => Enumerable.Range(0, len).Select(_ => rng.Next(lo, hi)).ToArray();
        return Enumerable.Range(0, n).Select(i =>
        {
            var ex = new PreferenceExample($"p{i}", "c", "r", new SourceLocation("synthetic", i + 1));
            return new TokenizedPair(Seq(1, Vocab, rng.Next(2, 6)), Seq(1, 12, rng.Next(2, 7)), Seq(12, Vocab, rng.Next(2, 7)), ex);
        }).ToList();
    }

    public static TrainingSetup Setup(IReadOnlyList<TokenizedPair> train, IReadOnlyList<TokenizedPair>? eval = null, long seed = 1, double beta = 0.1) =>
        new(Model(seed), new FrozenReference(Model(seed)), new Dpo(beta), train, eval ?? [], 0);

    /// <summary>A new empty folder, deleted with the test process's temporary root.</summary>
    public static string TempDir() => TestTemp.Dir("run");
}

/// <summary>Collects what the trainer reports.</summary>
internal sealed class RecordingObserver : ITrainingObserver
{
    public List<(int Step, IReadOnlyDictionary<string, double> Metrics)> Logs { get; } = [];
    public List<string> Messages { get; } = [];

    public void OnLog(int step, int maxSteps, IReadOnlyDictionary<string, double> metrics) => Logs.Add((step, metrics));

    public void OnMessage(string message) => Messages.Add(message);
}
