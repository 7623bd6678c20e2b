using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.IO;

namespace AlignSharp.Bench;

/// <summary>One aggregated benchmark cell: a library running one model with one setting, medians over all timed steps.</summary>
internal sealed record StepSummary(
    string Lib, string Model, long Params, int Threads, string Reference, string LogProbs, bool Checkpointing, int Steps, int Runs,
    double StepSeconds, double TokensPerSecond, double PolicyForward, double ReferenceForward, double Backward, double Optimizer,
    double PeakRssMiB, double RssAfterInitMiB, double ModelGflops, double Mfu);

/// <summary>
/// Aggregates the raw JSON lines of bench/run.sh (both libraries) into medians, ratios, a CSV, a JSON summary,
/// a Markdown table and the chart.
/// </summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Reads <paramref name="rawPath"/> and writes summary.json, summary.csv, summary.md and chart.png into <paramref name="outDir"/>.</summary>
    public static void Write(BenchConfigs configs, string rawPath, string outDir)
    {
        var records = new List<JsonObject>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(rawPath))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                records.Add(JsonNode.Parse(line)!.AsObject());
            }
            catch (JsonException e)
            {
                throw new BenchException($"{rawPath}:{lineNo}: not a JSON object: {e.Message}");
            }
        }
        Directory.CreateDirectory(outDir);
        var gemm = records.Where(r => Str(r, "kind") == "gemm")
            .GroupBy(r => (Lib: Str(r, "lib"), Threads: Int(r, "threads"), Size: Int(r, "size")))
            .Select(g => (g.Key.Lib, g.Key.Threads, g.Key.Size, Gflops: Stats.Median(g.Select(r => Num(r, "gflops")))))
            .OrderBy(g => g.Lib).ThenBy(g => g.Threads).ThenBy(g => g.Size).ToList();
        var shape = configs.Batch;
        var steps = records.Where(r => Str(r, "kind") == "step")
            .GroupBy(r => (Lib: Str(r, "lib"), Model: Str(r, "model"), Threads: Int(r, "threads"), Reference: Str(r, "reference"), LogProbs: Str(r, "logprobs"),
                Checkpointing: r["checkpointing"]?.GetValue<bool>() ?? false))
            .Select(g =>
            {
                var all = g.SelectMany(r => r["steps"]!.AsArray().Select(s => s!.AsObject())).ToList();
                double Med(string key) => Stats.Median(all.Select(s => Num(s, key)));
                var first = g.First();
                var cfg = configs.Model(g.Key.Model);
                double step = Med("total");
                double flops = Flops.Step(cfg, 2 * shape.Pairs, shape.Prompt + shape.Completion, Int(first, "scored_per_step"), g.Key.Reference == "forward");
                var peakGemm = gemm.Where(x => x.Lib == g.Key.Lib && x.Threads == g.Key.Threads).Select(x => x.Gflops).DefaultIfEmpty(double.NaN).Max();
                double achieved = flops / step / 1e9;
                return new StepSummary(g.Key.Lib, g.Key.Model, (long)Num(first, "params"), g.Key.Threads, g.Key.Reference, g.Key.LogProbs, g.Key.Checkpointing,
                    all.Count, g.Count(), step, Int(first, "tokens_per_step") / step, Med("policy_forward"), Med("reference_forward"),
                    Med("backward"), Med("optimizer"), g.Max(r => Num(r, "peak_rss_mib")), g.Max(r => Num(r, "rss_after_init_mib")),
                    achieved, achieved / peakGemm);
            })
            .OrderBy(s => s.Params).ThenBy(s => s.Model).ThenBy(s => s.Lib).ThenByDescending(s => s.Threads).ThenBy(s => s.Reference).ThenBy(s => s.LogProbs).ThenBy(s => s.Checkpointing)
            .ToList();
        var logprobs = records.Where(r => Str(r, "kind") == "logprobs")
            .GroupBy(r => (Lib: Str(r, "lib"), Mode: Str(r, "mode"), Grad: r["grad"]!.GetValue<bool>()))
            .Select(g => (g.Key.Lib, g.Key.Mode, g.Key.Grad, Vocab: Int(g.First(), "vocab"), Rows: Int(g.First(), "rows"), Seq: Int(g.First(), "seq"),
                DeltaMiB: Stats.Median(g.Select(r => Num(r, "peak_delta_mib"))), Seconds: Stats.Median(g.Select(r => Num(r, "seconds")))))
            .OrderBy(x => x.Lib).ThenBy(x => x.Grad).ThenBy(x => x.Mode).ToList();
        var extras = records.Where(r => Str(r, "kind") is not ("gemm" or "step" or "logprobs")).ToList();

        var withheld = WithheldThreads(gemm);
        var ratios = Ratios(steps).Where(r => !withheld.ContainsKey(r["threads"]!.GetValue<int>())).ToList();
        WriteAtomic(Path.Combine(outDir, "summary.csv"), Csv(steps));
        var json = new JsonObject
        {
            ["gemm"] = new JsonArray(gemm.Select(g => (JsonNode)new JsonObject { ["lib"] = g.Lib, ["threads"] = g.Threads, ["size"] = g.Size, ["gflops"] = g.Gflops }).ToArray()),
            ["steps"] = JsonSerializer.SerializeToNode(steps),
            ["ratios"] = JsonSerializer.SerializeToNode(ratios),
            ["ratios_withheld"] = new JsonArray(withheld.Select(w => (JsonNode)new JsonObject
            {
                ["threads"] = w.Key, ["reason"] = w.Value,
            }).ToArray()),
            ["logprobs"] = new JsonArray(logprobs.Select(l => (JsonNode)new JsonObject
            {
                ["lib"] = l.Lib, ["mode"] = l.Mode, ["grad"] = l.Grad, ["vocab"] = l.Vocab, ["rows"] = l.Rows, ["seq"] = l.Seq,
                ["peak_delta_mib"] = l.DeltaMiB, ["seconds"] = l.Seconds,
            }).ToArray()),
            ["other"] = new JsonArray(extras.Select(e => e.DeepClone()).ToArray()),
        };
        WriteAtomic(Path.Combine(outDir, "summary.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var md = Markdown(gemm, steps, ratios, withheld, logprobs, extras);
        WriteAtomic(Path.Combine(outDir, "summary.md"), md);
        Chart.Write(steps, Path.Combine(outDir, "chart.png"));
        Console.WriteLine(md);
    }

    /// <summary>
    /// A baseline is only compared at its best: where PyTorch's best GEMM rate at a thread count is below
    /// <see cref="MinBaselineGemmRatio"/> of AlignSharp's in the same run, its BLAS is misconfigured (e.g. OpenBLAS's
    /// generic kernel on a CPU it does not recognise) and every ratio at that thread count would measure the BLAS,
    /// not the libraries. Returns thread count -> the reason the ratios are withheld.
    /// </summary>
    internal static Dictionary<int, string> WithheldThreads(List<(string Lib, int Threads, int Size, double Gflops)> gemm)
    {
        var reasons = new Dictionary<int, string>();
        foreach (var threads in gemm.Select(g => g.Threads).Distinct())
        {
            double Best(string lib) => gemm.Where(g => g.Lib == lib && g.Threads == threads)
                .Select(g => g.Gflops).DefaultIfEmpty(double.NaN).Max();
            double pt = Best("pytorch"), asharp = Best("alignsharp");
            if (double.IsNaN(pt) || double.IsNaN(asharp) || pt >= MinBaselineGemmRatio * asharp) continue;
            reasons[threads] = $"PyTorch's GEMM {F(pt, 1)} GFLOP/s is below {MinBaselineGemmRatio:0.0}x AlignSharp's " +
                $"{F(asharp, 1)} GFLOP/s at {threads} thread(s): the baseline's BLAS is not at its best, so ratios " +
                "would measure the BLAS kernel, not the libraries";
        }
        return reasons;
    }

    /// <summary>The lowest baseline/AlignSharp GEMM rate at which step ratios are still reported.</summary>
    internal const double MinBaselineGemmRatio = 0.8;

    /// <summary>Per model and thread count: identical-work and pipeline ratios (AlignSharp tokens/s over PyTorch tokens/s).</summary>
    private static List<JsonObject> Ratios(List<StepSummary> steps)
    {
        StepSummary? Find(string lib, string model, int threads, string reference, string lp) =>
            steps.FirstOrDefault(s => s.Lib == lib && s.Model == model && s.Threads == threads && s.Reference == reference && s.LogProbs == lp && !s.Checkpointing);
        var list = new List<JsonObject>();
        foreach (var (model, threads) in steps.Select(s => (s.Model, s.Threads)).Distinct())
        {
            var asSame = Find("alignsharp", model, threads, "forward", "selected");
            var ptSame = Find("pytorch", model, threads, "forward", "selected");
            var asPipe = Find("alignsharp", model, threads, "cached", "selected");
            var ptTrl = Find("pytorch", model, threads, "forward", "full");
            var o = new JsonObject { ["model"] = model, ["threads"] = threads };
            if (asSame is not null && ptSame is not null) o["identical_work"] = asSame.TokensPerSecond / ptSame.TokensPerSecond;
            if (asPipe is not null && ptTrl is not null) o["pipeline_vs_trl_style"] = asPipe.TokensPerSecond / ptTrl.TokensPerSecond;
            if (asSame is not null && asPipe is not null) o["alignsharp_cached_vs_forward"] = asPipe.TokensPerSecond / asSame.TokensPerSecond;
            if (asSame is not null && ptSame is not null) o["peak_memory_ratio"] = asSame.PeakRssMiB / ptSame.PeakRssMiB;
            if (o.Count > 2) list.Add(o);
        }
        return list;
    }

    private static string Csv(List<StepSummary> steps)
    {
        var sb = new StringBuilder("lib,model,params,threads,reference,logprobs,checkpointing,steps,runs,step_s,tokens_per_s,policy_forward_s,reference_forward_s,backward_s,optimizer_s,peak_rss_mib,rss_after_init_mib,model_gflops_per_s,mfu\n");
        foreach (var s in steps)
            sb.AppendLine(string.Join(",", new object[] { s.Lib, s.Model, s.Params, s.Threads, s.Reference, s.LogProbs, s.Checkpointing, s.Steps, s.Runs,
                F(s.StepSeconds, 4), F(s.TokensPerSecond, 1), F(s.PolicyForward, 4), F(s.ReferenceForward, 4), F(s.Backward, 4), F(s.Optimizer, 4),
                F(s.PeakRssMiB, 1), F(s.RssAfterInitMiB, 1), F(s.ModelGflops, 1), F(s.Mfu, 3) }.Select(v => Convert.ToString(v, Inv))));
        return sb.ToString();
    }

    private static string Markdown(List<(string Lib, int Threads, int Size, double Gflops)> gemm, List<StepSummary> steps, List<JsonObject> ratios,
        Dictionary<int, string> withheld, List<(string Lib, string Mode, bool Grad, int Vocab, int Rows, int Seq, double DeltaMiB, double Seconds)> logprobs, List<JsonObject> extras)
    {
        var sb = new StringBuilder();
        foreach (var e in extras.Where(e => Str(e, "kind") == "baseline_blas"))
        {
            sb.AppendLine($"### Baseline BLAS kernel: {Str(e, "chosen")} (OpenBLAS detects this CPU as {Str(e, "detected")})\n");
            sb.AppendLine("| OPENBLAS_CORETYPE | GFLOP/s (1 thread, n = 1024) | correct |\n|---|---:|---|");
            foreach (var (name, c) in e["candidates"]!.AsObject())
                sb.AppendLine($"| {name} | {F(Num(c!.AsObject(), "gflops"), 1)} | {(c["correct"]!.GetValue<bool>() ? "yes" : "no")} |");
            sb.AppendLine();
        }
        sb.AppendLine("### fp32 GEMM (torch.mm, n x n x n, median)\n");
        sb.AppendLine("| library | threads | n | GFLOP/s |\n|---|---:|---:|---:|");
        foreach (var g in gemm) sb.AppendLine($"| {g.Lib} | {g.Threads} | {g.Size} | {F(g.Gflops, 1)} |");
        sb.AppendLine("\n### DPO step (medians over all timed steps of all interleaved runs)\n");
        sb.AppendLine("| model | params | library | threads | reference | log-probs | ckpt | steps | step s | tokens/s | policy fwd s | ref fwd s | backward s | optimizer s | peak RSS MiB | model GFLOP/s | MFU |");
        sb.AppendLine("|---|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in steps)
            sb.AppendLine($"| {s.Model} | {F(s.Params / 1e6, 1)}M | {s.Lib} | {s.Threads} | {s.Reference} | {s.LogProbs} | {(s.Checkpointing ? "yes" : "no")} | {s.Steps} | {F(s.StepSeconds, 3)} | {F(s.TokensPerSecond, 1)} | " +
                $"{F(s.PolicyForward, 3)} | {F(s.ReferenceForward, 3)} | {F(s.Backward, 3)} | {F(s.Optimizer, 3)} | {F(s.PeakRssMiB, 0)} | {F(s.ModelGflops, 1)} | {F(100 * s.Mfu, 1)}% |");
        sb.AppendLine("\n### Ratios (AlignSharp tokens/s / PyTorch tokens/s)\n");
        sb.AppendLine("| model | threads | identical work | AlignSharp cached ref vs PyTorch ref-every-step + full log-softmax | AlignSharp cached vs forward ref | peak RSS AlignSharp / PyTorch |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (threads, reason) in withheld) sb.AppendLine($"| all | {threads} | withheld: {reason} | | | |");
        foreach (var r in ratios)
            sb.AppendLine($"| {r["model"]} | {r["threads"]} | {R(r, "identical_work")} | {R(r, "pipeline_vs_trl_style")} | {R(r, "alignsharp_cached_vs_forward")} | {R(r, "peak_memory_ratio")} |");
        if (logprobs.Count > 0)
        {
            sb.AppendLine("\n### Log-prob peak memory (separate processes; peak RSS minus RSS before the call)\n");
            sb.AppendLine("| library | path | with backward | vocab | rows x T | peak delta MiB | seconds |\n|---|---|---|---:|---|---:|---:|");
            foreach (var l in logprobs) sb.AppendLine($"| {l.Lib} | {l.Mode} | {(l.Grad ? "yes" : "no")} | {l.Vocab} | {l.Rows} x {l.Seq} | {F(l.DeltaMiB, 1)} | {F(l.Seconds, 3)} |");
        }
        foreach (var e in extras.Where(e => Str(e, "kind") == "padding"))
        {
            sb.AppendLine($"\n### Padding waste ({e["pairs"]} synthetic pairs, batch {e["batch_size"]}, max length {e["max_length"]}; data layer's BatchPlanner)\n");
            sb.AppendLine("| batching | real tokens | padded tokens | waste |\n|---|---:|---:|---:|");
            foreach (var order in new[] { "random", "bucketed" })
            {
                var o = e[order]!.AsObject();
                sb.AppendLine($"| {order} | {Num(o, "real_tokens"):F0} | {Num(o, "padded_tokens"):F0} | {F(100 * Num(o, "waste"), 1)}% |");
            }
            double ratio = Num(e["random"]!.AsObject(), "total_tokens") / Num(e["bucketed"]!.AsObject(), "total_tokens");
            sb.AppendLine($"\nTokens processed per epoch, random / bucketed: {F(ratio, 2)}x (step cost grows at least linearly with padded tokens).");
        }
        foreach (var e in extras.Where(e => Str(e, "kind") is not ("padding" or "baseline_blas"))) sb.AppendLine($"\n`{e.ToJsonString()}`");
        return sb.ToString();
    }

    private static string R(JsonObject o, string key) => o[key] is JsonNode n ? F(n.GetValue<double>(), 2) + "x" : "-";
    private static string F(double v, int digits) => v.ToString("F" + digits, Inv);
    private static string Str(JsonObject o, string key) => o[key]?.GetValue<string>() ?? "";
    private static int Int(JsonObject o, string key) => (int)Num(o, key);
    private static double Num(JsonObject o, string key) => o[key] is JsonNode n ? n.GetValue<double>() : throw new BenchException($"result record lacks '{key}': {o.ToJsonString()}");

    /// <summary>Writes via a temporary file and a rename, so a reader never sees half a file.</summary>
    internal static void WriteAtomic(string path, string text)
    {
        AtomicFile.WriteAllText(path, text);
    }
}
