using System.Diagnostics;
using System.Text.Json.Nodes;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Bench;

/// <summary>How the real-data benchmark batches its pairs.</summary>
internal enum HhBatching
{
    /// <summary>Random batches, right-padded to the longest row.</summary>
    Random,
    /// <summary>Length-bucketed batches (the trainer's default), right-padded.</summary>
    Bucketed,
    /// <summary>
    /// The random batches, forwarded padding-free (<c>training.padding_free</c>): one packed row, per-row attention,
    /// each pair's prompt once.
    /// </summary>
    Packed,
    /// <summary>The bucketed batches, forwarded padding-free.</summary>
    PackedBucketed,
    /// <summary>The random batches packed without sharing prompts (every row whole): what packing alone gives.</summary>
    PackedRows,
}

/// <summary>Options of one real-data run (one batching mode per process, so each has its own peak RSS).</summary>
internal sealed record HhOptions(string Data, string Tokenizer, string Model, int MaxLength, int BatchSize, int Pairs,
    HhBatching Batching, int Threads, long Seed, string? WriteBatches);

/// <summary>
/// DPO steps on real preference data (HH-RLHF harmless-base, tokenized with a real tokenizer): the same
/// <see cref="Pairs"/>-pair subset, drawn under the seed, trained once through with each batching mode. Each step is
/// the trainer's computation: policy log-probs with grad (<see cref="BatchLogProbs"/>), a frozen reference's without,
/// the DPO loss, backward, AdamW. Reports useful (non-pad) tokens per second, the tokens actually computed (rows x
/// width, padded or packed) and the peak RSS. <c>--write-batches</c> only saves the padded batches for the PyTorch
/// baseline (<c>bench/pytorch_dpo_step.py hh</c>), which then runs the very same rows.
/// </summary>
internal static class HhBench
{
    /// <summary>Runs one mode over the subset (a first untimed step warms up) and returns the JSON record.</summary>
    public static JsonObject Run(BenchConfigs configs, HhOptions o)
    {
        torch.set_num_threads(o.Threads);
        var sw = Stopwatch.StartNew();
        var tokenizer = AutoTokenizer.FromFolder(o.Tokenizer);
        var data = TokenizedData.Load(o.Data, tokenizer, TokenizationOptions.WithHalfPrompt(o.MaxLength));
        double tokenizeSeconds = sw.Elapsed.TotalSeconds;
        var subset = Subset(data.Pairs, o.Pairs, o.Seed);
        var order = o.Batching is HhBatching.Bucketed or HhBatching.PackedBucketed ? BatchOrder.Bucketed : BatchOrder.Random;
        bool packed = o.Batching is HhBatching.Packed or HhBatching.PackedBucketed or HhBatching.PackedRows;
        bool share = o.Batching is not HhBatching.PackedRows;
        var plan = PreferenceBatches.Planner(subset, o.BatchSize, seed: 1, order).Epoch(0).ToList();
        if (o.WriteBatches is { } path) // only the batches, for the baseline; nothing is trained
        {
            WriteBatches(path, subset, plan);
            return new JsonObject { ["kind"] = "hh_batches", ["batching"] = Name(o.Batching), ["batches"] = plan.Count, ["path"] = path };
        }

        var cfg = configs.Model(o.Model);
        using var policy = ModelFactory.Create(cfg, o.Seed);
        policy.train();
        using var reference = ModelFactory.Create(cfg, o.Seed); // same seed: the initial policy's weights
        foreach (var p in reference.parameters()) p.requires_grad = false;
        reference.eval();
        var objective = new Dpo(0.1);
        // The trainer's optimizer: AdamW fused over flat buffers (Training/Fused/AdamW.cs).
        using var optimizer = new AlignSharp.Training.Fused.AdamW(
            [new TorchSharp.Modules.AdamW.ParamGroup(policy.parameters(), 1e-6, 0.9, 0.999, 1e-8, 0, false, false)]);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        bool peakReset = ProcessMemory.ResetPeak();
        long useful = 0, computed = 0, padded = 0;
        double seconds = 0;
        var losses = new JsonArray();
        for (int i = -1; i < plan.Count; i++) // i = -1: warm-up on the first batch, not counted
        {
            using var scope = torch.NewDisposeScope();
            var indices = plan[Math.Max(i, 0)];
            using var batch = PreferenceCollator.Collate([.. indices.Select(k => subset[k])], padId: 0) with { Packed = packed };
            var start = Stopwatch.GetTimestamp();
            Tensor Sums(CausalLM m) => SequenceLogProbs.Compute(m, batch.InputIds, batch.AttentionMask, batch.PositionIds,
                batch.CompletionMask, packed: packed, sharePrompts: share).Sums; // what BatchLogProbs.Of runs on the CPU
            var pol = Sums(policy); // (2B)
            Tensor refLp;
            using (torch.no_grad()) refLp = Sums(reference);
            int n = batch.Count;
            var counts = batch.CompletionMask[.., 1..].sum(1);
            var stats = new PairStats(pol[..n], pol[n..], refLp[..n], refLp[n..], counts[..n], counts[n..]);
            var loss = objective.Compute(stats, new ObjectiveContext(true, Math.Max(i, 0), plan.Count, null)).Losses.mean();
            loss.backward();
            optimizer.step();
            optimizer.zero_grad();
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (i < 0) continue;
            seconds += elapsed;
            long real = batch.AttentionMask.sum().item<long>();
            useful += real;
            padded += batch.InputIds.numel();
            computed += packed ? Packed(batch, share) : batch.InputIds.numel();
            losses.Add(loss.item<float>());
        }
        return new JsonObject
        {
            ["kind"] = "hh", ["model"] = o.Model, ["batching"] = Name(o.Batching), ["threads"] = o.Threads,
            ["data"] = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(o.Data))), ["pairs_in_file"] = data.Pairs.Count,
            ["pairs"] = subset.Count, ["batch_size"] = o.BatchSize, ["batches"] = plan.Count, ["max_length"] = o.MaxLength,
            ["useful_tokens"] = useful, ["computed_tokens"] = computed, ["padded_tokens"] = padded, ["seconds"] = seconds,
            ["useful_tokens_per_second"] = useful / seconds, ["peak_rss_mib"] = ProcessMemory.PeakMiB(),
            ["peak_is_training_only"] = peakReset, ["tokenize_seconds"] = tokenizeSeconds, ["losses"] = losses,
        };
    }

    /// <summary>The mode's name in the JSON records and on the command line.</summary>
    public static string Name(HhBatching b) => b switch
    {
        HhBatching.PackedBucketed => "packed-bucketed",
        HhBatching.PackedRows => "packed-rows",
        _ => b.ToString().ToLowerInvariant(),
    };

    /// <summary><paramref name="count"/> pairs drawn without replacement under <paramref name="seed"/> (all when fewer).</summary>
    internal static List<TokenizedPair> Subset(IReadOnlyList<TokenizedPair> pairs, int count, long seed)
    {
        var rng = new Random(unchecked((int)seed));
        return [.. pairs.OrderBy(_ => rng.Next()).Take(count)];
    }

    /// <summary>Positions the packed forward computes (one row, no pad; shared prompts once).</summary>
    private static long Packed(PreferenceBatch batch, bool share)
    {
        using var pack = share
            ? RowPacking.PackSharingPrompts(batch.InputIds, batch.AttentionMask, batch.PositionIds, batch.CompletionMask)
            : RowPacking.Pack(batch.InputIds, batch.AttentionMask, batch.PositionIds, capacity: long.MaxValue);
        return pack.Sequences * pack.Width;
    }

    /// <summary>One JSON line per batch: its rows (chosen rows, then rejected) as ids with their prompt length.</summary>
    private static void WriteBatches(string path, List<TokenizedPair> subset, List<int[]> plan)
    {
        string tmp = path + ".tmp";
        using (var w = new StreamWriter(tmp))
            foreach (var indices in plan)
            {
                var pairs = indices.Select(k => subset[k]).ToList();
                var rows = new JsonArray();
                foreach (var (prompt, completion) in pairs.Select(p => (p.Prompt, p.Chosen)).Concat(pairs.Select(p => (p.Prompt, p.Rejected))))
                    rows.Add(new JsonObject { ["prompt"] = prompt.Length, ["ids"] = new JsonArray([.. prompt.Concat(completion).Select(x => (JsonNode)x)]) });
                w.WriteLine(new JsonObject { ["pairs"] = pairs.Count, ["rows"] = rows }.ToJsonString());
            }
        File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>The markdown table of a real-data run (bench/hh.sh): medians over rounds per library and batching mode.</summary>
internal static class HhReport
{
    /// <summary>Reads the JSON lines of <paramref name="input"/> and writes the table to <paramref name="output"/> (atomically).</summary>
    public static void Write(string input, string output)
    {
        var records = File.ReadLines(input).Where(l => l.TrimStart().StartsWith('{'))
            .Select(l => JsonNode.Parse(l)!.AsObject()).Where(o => (string?)o["kind"] == "hh").ToList();
        if (records.Count == 0) throw new BenchException($"{input}: no hh records");
        var groups = records.GroupBy(r => ((string)r["lib"]!, (string)r["batching"]!))
            .ToDictionary(g => g.Key, g => g.ToList());
        double Rate(string lib, string mode) => groups.TryGetValue((lib, mode), out var g)
            ? Median(g.Select(r => (double)r["useful_tokens_per_second"]!)) : double.NaN;
        var md = new System.Text.StringBuilder();
        var first = records[0];
        md.AppendLine($"Model `{first["model"]}`, {first["pairs"]} pairs of {first["data"]} ({first["pairs_in_file"]} pairs tokenized at " +
            $"max length {first["max_length"]}), batch {first["batch_size"]} pairs, {first["threads"]} threads; medians over " +
            $"{groups.Values.Max(g => g.Count)} rounds.");
        md.AppendLine();
        md.AppendLine("| library | batching | useful tokens | computed tokens | computed / useful | useful tokens/s | peak RSS (MiB) |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var ((lib, mode), g) in groups.OrderBy(x => x.Key.Item1).ThenBy(x => Array.IndexOf(Modes, x.Key.Item2)))
        {
            long useful = (long)g[0]["useful_tokens"]!, computed = (long)g[0]["computed_tokens"]!;
            // Above 1: padding; below 1: shared prompts computed once (packed modes).
            md.AppendLine($"| {lib} | {mode} | {useful} | {computed} | {(double)computed / useful:F2} | " +
                $"{Rate(lib, mode):F0} | {g.Max(r => (double)r["peak_rss_mib"]!):F0} |");
        }
        md.AppendLine();
        const string a = "alignsharp";
        md.AppendLine($"- packed / bucketed: {Rate(a, "packed") / Rate(a, "bucketed"):F2}x; packed / random: {Rate(a, "packed") / Rate(a, "random"):F2}x; " +
            $"packed-bucketed / bucketed: {Rate(a, "packed-bucketed") / Rate(a, "bucketed"):F2}x; bucketed / random: {Rate(a, "bucketed") / Rate(a, "random"):F2}x");
        md.AppendLine($"- packed rows (no shared prompts) / bucketed: {Rate(a, "packed-rows") / Rate(a, "bucketed"):F2}x; " +
            $"packed rows / random: {Rate(a, "packed-rows") / Rate(a, "random"):F2}x; packed / packed rows: " +
            $"{Rate(a, "packed") / Rate(a, "packed-rows"):F2}x");
        foreach (var mode in new[] { "random", "bucketed" })
            if (groups.ContainsKey(("pytorch", mode)))
                md.AppendLine($"- AlignSharp / PyTorch on the same {mode} batches: {Rate(a, mode) / Rate("pytorch", mode):F2}x; " +
                    $"AlignSharp packed / PyTorch {mode}: {Rate(a, "packed") / Rate("pytorch", mode):F2}x");
        string tmp = output + ".tmp";
        File.WriteAllText(tmp, md.ToString());
        File.Move(tmp, output, overwrite: true);
        Console.Write(md.ToString());
    }

    private static readonly string[] Modes = ["random", "bucketed", "packed", "packed-bucketed", "packed-rows"];

    private static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
