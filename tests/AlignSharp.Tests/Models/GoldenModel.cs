using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Models;

/// <summary>One batch of a golden.json file (see ../shared/golden/models/README.md).</summary>
internal sealed record GoldenBatch(
    string Name, string Padding, long[][] InputIds, long[][] AttentionMask, long[][] PositionIds, long[][] CompletionMask,
    double[] CompletionLogprobSums, double?[][] NextTokenLogprobs, double[]?[][] Logits)
{
    public Tensor Ids => torch.tensor(Flat(InputIds), [InputIds.Length, InputIds[0].Length]);
    public Tensor Mask => torch.tensor(Flat(AttentionMask), [AttentionMask.Length, AttentionMask[0].Length]);
    public Tensor Positions => torch.tensor(Flat(PositionIds), [PositionIds.Length, PositionIds[0].Length]);
    public Tensor Completion => torch.tensor(Flat(CompletionMask), [CompletionMask.Length, CompletionMask[0].Length]);

    private static long[] Flat(long[][] rows) => rows.SelectMany(r => r).ToArray();
}

/// <summary>One greedy continuation: exactly max_new_tokens argmax steps from the prompt.</summary>
internal sealed record GoldenGreedy(long[] Prompt, int MaxNewTokens, long[] NewTokens);

/// <summary>A golden model folder with its expected outputs.</summary>
internal sealed record GoldenModel(string Name, string Dir, IReadOnlyList<GoldenBatch> Batches, IReadOnlyList<GoldenGreedy> Greedy,
    double[][] FinalNormOutput, double[]? RopeInvFreq)
{
    /// <summary>The shared fixtures (../shared/golden/models).</summary>
    public static string Root => Path.Combine(TestSetup.Shared, "golden", "models");

    /// <summary>The project's own fixtures (tests/fixtures/models, written by generate.py there).</summary>
    public static string ProjectRoot => Path.Combine(TestSetup.RepoRoot, "tests", "fixtures", "models");

    /// <summary>Every fixture folder: the shared manifest's models, then the project's (same schema and conventions).</summary>
    public static string[] Names => [.. ManifestNames(Root), .. ManifestNames(ProjectRoot)];

    /// <summary>The folder of fixture <paramref name="name"/>, in whichever set lists it.</summary>
    public static string DirOf(string name) =>
        ManifestNames(Root).Contains(name) ? Path.Combine(Root, name) : Path.Combine(ProjectRoot, name);

    /// <summary>The model_type of each fixture folder, read from its config.json.</summary>
    public static string ModelTypeOf(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DirOf(name), "config.json")));
        return doc.RootElement.GetProperty("model_type").GetString()!;
    }

    private static string[] ManifestNames(string root)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "manifest.json")));
        return [.. doc.RootElement.GetProperty("models").EnumerateObject().Select(p => p.Name)];
    }

    /// <summary>The shared manifest.json's "tolerance" entry <paramref name="key"/> (a max absolute difference; the
    /// project's manifest states the same values).</summary>
    public static double Tolerance(string key) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "manifest.json"))).RootElement
            .GetProperty("tolerance").GetProperty(key).GetDouble();

    public static GoldenModel Load(string name)
    {
        string dir = DirOf(name);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "golden.json")));
        var r = doc.RootElement;
        var batches = r.GetProperty("batches").EnumerateArray().Select(b => new GoldenBatch(
            b.GetProperty("name").GetString()!,
            b.GetProperty("padding").GetString()!,
            Longs2(b.GetProperty("input_ids")),
            Longs2(b.GetProperty("attention_mask")),
            Longs2(b.GetProperty("position_ids")),
            Longs2(b.GetProperty("completion_mask")),
            b.GetProperty("completion_logprob_sums").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
            b.GetProperty("next_token_logprobs").EnumerateArray()
                .Select(row => row.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Null ? (double?)null : x.GetDouble()).ToArray()).ToArray(),
            b.GetProperty("logits").EnumerateArray()
                .Select(row => row.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Null ? null : Doubles(x)).ToArray()).ToArray()
        )).ToList();
        var greedy = r.GetProperty("greedy").EnumerateArray().Select(g => new GoldenGreedy(
            g.GetProperty("prompt").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
            g.GetProperty("max_new_tokens").GetInt32(),
            g.GetProperty("new_tokens").EnumerateArray().Select(x => x.GetInt64()).ToArray())).ToList();
        var debug = r.GetProperty("debug");
        var finalNorm = debug.GetProperty("final_norm_output").EnumerateArray().Select(Doubles).ToArray();
        double[]? inv = debug.TryGetProperty("rope_inv_freq", out var f) ? Doubles(f) : null;
        return new GoldenModel(name, dir, batches, greedy, finalNorm, inv);
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static long[][] Longs2(JsonElement e) => e.EnumerateArray().Select(row => row.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
}
