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
    public static string Root => Path.Combine(TestSetup.Shared, "golden", "models");

    /// <summary>The model folders manifest.json lists, in its order.</summary>
    public static string[] Names => [.. Manifest.GetProperty("models").EnumerateObject().Select(m => m.Name)];

    /// <summary>manifest.json's "tolerance" entry <paramref name="key"/> (a max absolute difference).</summary>
    public static double Tolerance(string key) => Manifest.GetProperty("tolerance").GetProperty(key).GetDouble();

    private static JsonElement Manifest =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "manifest.json"))).RootElement;

    public static GoldenModel Load(string name)
    {
        string dir = Path.Combine(Root, name);
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
