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
    double PeakRssMiB, double RssAfterInitMiB, double ModelGflops, double Mfu, string Precision = "float32");

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
        var gemm = records.Where(r => Str(r, "kind") == "gemm" && Str(r, "dtype") is "" or "float32")
            .GroupBy(r => (Lib: Str(r, "lib"), Threads: Int(r, "threads"), Size: Int(r, "size")))
            .Select(g => (g.Key.Lib, g.Key.Threads, g.Key.Size, Gflops: Stats.Median(g.Select(r => Num(r, "gflops")))))
            .OrderBy(g => g.Lib).ThenBy(g => g.Threads).ThenBy(g => g.Size).ToList();
        var shape = configs.Batch;
        var steps = records.Where(r => Str(r, "kind") == "step")
            .GroupBy(r => (Lib: Str(r, "lib"), Model: Str(r, "model"), Threads: Int(r, "threads"), Reference: Str(r, "reference"), LogProbs: Str(r, "logprobs"),
                Checkpointing: r["checkpointing"]?.GetValue<bool>() ?? false, Precision: PrecisionOf(r)))
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
                    achieved, achieved / peakGemm, g.Key.Precision);
            })
            .OrderBy(s => s.Params).ThenBy(s => s.Model).ThenBy(s => s.Lib).ThenByDescending(s => s.Threads).ThenBy(s => s.Reference).ThenBy(s => s.LogProbs).ThenBy(s => s.Checkpointing)
            .ThenBy(s => s.Precision, StringComparer.Ordinal)
            .ToList();
        var logprobs = records.Where(r => Str(r, "kind") == "logprobs")
            .GroupBy(r => (Lib: Str(r, "lib"), Mode: Str(r, "mode"), Grad: r["grad"]!.GetValue<bool>(),
                Layers: r["layers"]?.GetValue<int>() ?? 1)) // records without the field: the one-block trunk
            .Select(g => (g.Key.Lib, g.Key.Mode, g.Key.Grad, g.Key.Layers, Vocab: Int(g.First(), "vocab"), Rows: Int(g.First(), "rows"), Seq: Int(g.First(), "seq"),
                DeltaMiB: Stats.Median(g.Select(r => Num(r, "peak_delta_mib"))), Seconds: Stats.Median(g.Select(r => Num(r, "seconds")))))
            .OrderBy(x => x.Lib).ThenBy(x => x.Layers).ThenBy(x => x.Grad).ThenBy(x => x.Mode).ToList();
        var extras = records.Where(r => Str(r, "kind") is not ("gemm" or "step" or "logprobs")).ToList();

        var withheld = WithheldThreads(gemm);
        var ratios = Ratios(steps).Where(r => !withheld.ContainsKey(r["threads"]!.GetValue<int>())).ToList();
        var precisionRatios = PrecisionRatios(steps);
        WriteAtomic(Path.Combine(outDir, "summary.csv"), Csv(steps));
        var json = new JsonObject
        {
            ["gemm"] = new JsonArray(gemm.Select(g => (JsonNode)new JsonObject { ["lib"] = g.Lib, ["threads"] = g.Threads, ["size"] = g.Size, ["gflops"] = g.Gflops }).ToArray()),
            ["steps"] = JsonSerializer.SerializeToNode(steps),
            ["ratios"] = JsonSerializer.SerializeToNode(ratios),
            ["precision_ratios"] = JsonSerializer.SerializeToNode(precisionRatios),
            ["ratios_withheld"] = new JsonArray(withheld.Select(w => (JsonNode)new JsonObject
            {
                ["threads"] = w.Key, ["reason"] = w.Value,
            }).ToArray()),
            ["logprobs"] = new JsonArray(logprobs.Select(l => (JsonNode)new JsonObject
            {
                ["lib"] = l.Lib, ["mode"] = l.Mode, ["grad"] = l.Grad, ["layers"] = l.Layers, ["vocab"] = l.Vocab, ["rows"] = l.Rows, ["seq"] = l.Seq,
                ["peak_delta_mib"] = l.DeltaMiB, ["seconds"] = l.Seconds,
            }).ToArray()),
            ["other"] = new JsonArray(extras.Select(e => e.DeepClone()).ToArray()),
        };
        WriteAtomic(Path.Combine(outDir, "summary.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var bf16Gemm = records.Where(r => Str(r, "kind") == "gemm" && Str(r, "dtype") == "bfloat16")
            .GroupBy(r => (Lib: Str(r, "lib"), Threads: Int(r, "threads"), Size: Int(r, "size")))
            .Select(g => (g.Key.Lib, g.Key.Threads, g.Key.Size, Gflops: Stats.Median(g.Select(r => Num(r, "gflops")))))
            .OrderBy(g => g.Lib).ThenBy(g => g.Threads).ThenBy(g => g.Size).ToList();
        var md = Markdown(gemm, steps, ratios, withheld, logprobs, extras) + PrecisionMarkdown(precisionRatios, extras, bf16Gemm, gemm);
        WriteAtomic(Path.Combine(outDir, "summary.md"), md);
        Chart.Write([.. steps.Where(s => s.Precision == "float32")], Path.Combine(outDir, "chart.png"));
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
            steps.FirstOrDefault(s => s.Lib == lib && s.Model == model && s.Threads == threads && s.Reference == reference && s.LogProbs == lp && !s.Checkpointing
                && s.Precision == "float32");
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

    /// <summary>A step record's matmul precision: float32 (also for records that predate the field), bfloat16, or
    /// bfloat16-head when the LM head ran in bfloat16 too.</summary>
    private static string PrecisionOf(JsonObject r) => Str(r, "precision") switch
    {
        "" or "float32" => "float32",
        var p => Str(r, "lm_head_precision") == "bfloat16" ? p + "-head" : p,
    };

    /// <summary>
    /// AlignSharp's bfloat16 step time over its float32 step time, per model, thread count and setting where both were
    /// measured (separate processes, alternating: bench/run.sh).
    /// </summary>
    private static List<JsonObject> PrecisionRatios(List<StepSummary> steps)
    {
        var list = new List<JsonObject>();
        foreach (var bf in steps.Where(s => s.Lib == "alignsharp" && s.Precision != "float32"))
        {
            var fp = steps.FirstOrDefault(s => s.Lib == "alignsharp" && s.Precision == "float32" && s.Model == bf.Model
                && s.Threads == bf.Threads && s.Reference == bf.Reference && s.LogProbs == bf.LogProbs && s.Checkpointing == bf.Checkpointing);
            if (fp is null) continue;
            list.Add(new JsonObject
            {
                ["model"] = bf.Model, ["threads"] = bf.Threads, ["reference"] = bf.Reference, ["precision"] = bf.Precision,
                ["float32_step_s"] = fp.StepSeconds, ["bfloat16_step_s"] = bf.StepSeconds,
                ["bf16_over_fp32"] = bf.StepSeconds / fp.StepSeconds,
            });
        }
        return list;
    }

    /// <summary>The bfloat16 section of summary.md: step-time ratios from run.sh's runs and any same-process A/B records.</summary>
    private static string PrecisionMarkdown(List<JsonObject> ratios, List<JsonObject> extras,
        List<(string Lib, int Threads, int Size, double Gflops)> bf16Gemm, List<(string Lib, int Threads, int Size, double Gflops)> fp32Gemm)
    {
        var ab = extras.Where(e => Str(e, "kind") == "precision_ab").ToList();
        if (ratios.Count == 0 && ab.Count == 0 && bf16Gemm.Count == 0) return "";
        var sb = new StringBuilder("\n### bfloat16 matmuls (training.precision) vs float32, AlignSharp DPO step\n\n");
        sb.AppendLine("Target (issue 18): bfloat16 step time <= 0.7x float32 where the CPU has bfloat16 instructions. " +
            "(MFU in the step table divides by the float32 GEMM rate for every row.)\n");
        if (bf16Gemm.Count > 0)
        {
            sb.AppendLine("| library | threads | n | bfloat16 GEMM GFLOP/s | float32 GFLOP/s | bf16 / fp32 rate |\n|---|---:|---:|---:|---:|---:|");
            foreach (var g in bf16Gemm)
            {
                double fp = fp32Gemm.Where(x => x.Lib == g.Lib && x.Threads == g.Threads && x.Size == g.Size).Select(x => x.Gflops)
                    .DefaultIfEmpty(double.NaN).First();
                sb.AppendLine($"| {g.Lib} | {g.Threads} | {g.Size} | {F(g.Gflops, 1)} | {F(fp, 1)} | {F(g.Gflops / fp, 2)}x |");
            }
            sb.AppendLine();
        }
        if (ratios.Count > 0)
        {
            sb.AppendLine("| model | threads | reference | precision | float32 step s | bfloat16 step s | bf16 / fp32 |\n|---|---:|---|---|---:|---:|---:|");
            foreach (var r in ratios)
                sb.AppendLine($"| {r["model"]} | {r["threads"]} | {r["reference"]} | {r["precision"]} | {F(Num(r, "float32_step_s"), 3)} | " +
                    $"{F(Num(r, "bfloat16_step_s"), 3)} | {R(r, "bf16_over_fp32")} |");
        }
        if (ab.Count > 0)
        {
            sb.AppendLine("\nSame-process A/B (`AlignSharp.Bench precision`: alternating steps, medians) and the log-prob error of bfloat16 " +
                "on the synthetic batch (|bf16 - fp32| per completion log-prob sum):\n");
            sb.AppendLine("| model | threads | LM head | steps | float32 step s | bfloat16 step s | bf16 / fp32 | bf16 / fp32 CPU time | max / mean abs error (nats) | load before / after |");
            sb.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---|---|");
            foreach (var e in ab)
            {
                var err = e["logprob_error"]![Str(e, "lm_head_precision") == "bfloat16" ? "lm_head_bfloat16" : "lm_head_float32"]!.AsObject();
                sb.AppendLine($"| {Str(e, "model")} | {e["threads"]} | {Str(e, "lm_head_precision")} | {e["steps"]} | {F(Num(e, "float32_step_s"), 3)} | " +
                    $"{F(Num(e, "bfloat16_step_s"), 3)} | {R(e, "bf16_over_fp32")} | {R(e, "bf16_over_fp32_cpu")} | {Num(err, "max_abs"):E2} / {Num(err, "mean_abs"):E2} | " +
                    $"{Str(e, "loadavg_before")} / {Str(e, "loadavg_after")} |");
            }
        }
        return sb.ToString();
    }

    private static string Csv(List<StepSummary> steps)
    {
        var sb = new StringBuilder("lib,model,params,threads,reference,logprobs,checkpointing,steps,runs,step_s,tokens_per_s,policy_forward_s,reference_forward_s,backward_s,optimizer_s,peak_rss_mib,rss_after_init_mib,model_gflops_per_s,mfu,precision\n");
        foreach (var s in steps)
            sb.AppendLine(string.Join(",", new object[] { s.Lib, s.Model, s.Params, s.Threads, s.Reference, s.LogProbs, s.Checkpointing, s.Steps, s.Runs,
                F(s.StepSeconds, 4), F(s.TokensPerSecond, 1), F(s.PolicyForward, 4), F(s.ReferenceForward, 4), F(s.Backward, 4), F(s.Optimizer, 4),
                F(s.PeakRssMiB, 1), F(s.RssAfterInitMiB, 1), F(s.ModelGflops, 1), F(s.Mfu, 3), s.Precision }.Select(v => Convert.ToString(v, Inv))));
        return sb.ToString();
    }

    private static string Markdown(List<(string Lib, int Threads, int Size, double Gflops)> gemm, List<StepSummary> steps, List<JsonObject> ratios,
        Dictionary<int, string> withheld, List<(string Lib, string Mode, bool Grad, int Layers, int Vocab, int Rows, int Seq, double DeltaMiB, double Seconds)> logprobs, List<JsonObject> extras)
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
        sb.AppendLine("| model | params | library | threads | reference | log-probs | ckpt | precision | steps | step s | tokens/s | policy fwd s | ref fwd s | backward s | optimizer s | peak RSS MiB | model GFLOP/s | MFU |");
        sb.AppendLine("|---|---:|---|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in steps)
            sb.AppendLine($"| {s.Model} | {F(s.Params / 1e6, 1)}M | {s.Lib} | {s.Threads} | {s.Reference} | {s.LogProbs} | {(s.Checkpointing ? "yes" : "no")} | {s.Precision} | {s.Steps} | {F(s.StepSeconds, 3)} | {F(s.TokensPerSecond, 1)} | " +
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
            sb.AppendLine("| library | path | with backward | decoder blocks | vocab | rows x T | peak delta MiB | seconds |\n|---|---|---|---:|---:|---|---:|---:|");
            foreach (var l in logprobs) sb.AppendLine($"| {l.Lib} | {l.Mode} | {(l.Grad ? "yes" : "no")} | {l.Layers} | {l.Vocab} | {l.Rows} x {l.Seq} | {F(l.DeltaMiB, 1)} | {F(l.Seconds, 3)} |");
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
        foreach (var e in extras.Where(e => Str(e, "kind") is not ("padding" or "baseline_blas" or "precision_ab"))) sb.AppendLine($"\n`{e.ToJsonString()}`");
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
