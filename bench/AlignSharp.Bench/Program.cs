using System.CommandLine;
using System.Text.Json.Nodes;
using AlignSharp.Bench;
using AlignSharp.Runtime;

// AlignSharp benchmark console, driven by bench/run.sh. Each measuring command prints one JSON object on stdout.
NativeRuntime.EnsureLoaded();

var configsOpt = new Option<string?>("--configs") { Description = "bench/configs.json (found above the binary by default)" };
var threadsOpt = new Option<int>("--threads") { Description = "torch intra-op threads", DefaultValueFactory = _ => 2 };

var gemm = new Command("gemm", "torch.mm throughput (GFLOP/s) in float32 or bfloat16");
var sizeOpt = new Option<int>("--size") { DefaultValueFactory = _ => 1024 };
var repsOpt = new Option<int>("--reps") { DefaultValueFactory = _ => 5 };
var gemmDtypeOpt = new Option<string>("--dtype") { DefaultValueFactory = _ => "float32", Description = "float32 or bfloat16" };
gemmDtypeOpt.AcceptOnlyFromAmong("float32", "bfloat16");
gemm.Options.Add(threadsOpt); gemm.Options.Add(sizeOpt); gemm.Options.Add(repsOpt); gemm.Options.Add(gemmDtypeOpt);
gemm.SetAction(p => Emit(GemmBench.Run(p.GetValue(threadsOpt), p.GetValue(sizeOpt), p.GetValue(repsOpt), p.GetValue(gemmDtypeOpt)!)));

var step = new Command("step", "time DPO training steps by phase on the synthetic batch");
var modelOpt = new Option<string>("--model") { Required = true, Description = "a model name from configs.json" };
var stepsOpt = new Option<int>("--steps") { DefaultValueFactory = _ => 3 };
var warmupOpt = new Option<int>("--warmup") { DefaultValueFactory = _ => 1 };
var refOpt = new Option<ReferenceMode>("--reference") { DefaultValueFactory = _ => ReferenceMode.Forward };
var lpOpt = new Option<LogProbPath>("--logprobs") { DefaultValueFactory = _ => LogProbPath.Selected };
var seedOpt = new Option<long>("--seed") { DefaultValueFactory = _ => 1234 };
var ckptOpt = new Option<bool>("--checkpointing") { Description = "gradient checkpointing on the policy's decoder blocks" };
var precisionOpt = new Option<string>("--precision")
{
    DefaultValueFactory = _ => "float32", Description = "matmul dtype of policy and reference (training.precision)",
};
precisionOpt.AcceptOnlyFromAmong("float32", "bfloat16");
var headOpt = new Option<string>("--lm-head")
{
    DefaultValueFactory = _ => "float32", Description = "LM head matmul dtype under --precision bfloat16 (the library's is float32)",
};
headOpt.AcceptOnlyFromAmong("float32", "bfloat16");
foreach (var o in new Option[] { configsOpt, threadsOpt, modelOpt, stepsOpt, warmupOpt, refOpt, lpOpt, seedOpt, ckptOpt, precisionOpt, headOpt })
    step.Options.Add(o);
step.SetAction(p => Emit(StepBench.Run(Configs(p), new StepOptions(p.GetValue(modelOpt)!, p.GetValue(threadsOpt), p.GetValue(stepsOpt),
    p.GetValue(warmupOpt), p.GetValue(refOpt), p.GetValue(lpOpt), p.GetValue(seedOpt), p.GetValue(ckptOpt),
    p.GetValue(precisionOpt)!, p.GetValue(headOpt) == "bfloat16"))));

var projection = new Command("projection", "one projection's forward + backward: float32 vs bfloat16 casts vs pre-cast weight");
var tokensOpt = new Option<int>("--tokens") { DefaultValueFactory = _ => 512 };
var inOptP = new Option<int>("--in") { DefaultValueFactory = _ => 512 };
var outOptP = new Option<int>("--out") { DefaultValueFactory = _ => 1408 };
var projRepsOpt = new Option<int>("--reps") { DefaultValueFactory = _ => 10 };
foreach (var o in new Option[] { threadsOpt, tokensOpt, inOptP, outOptP, projRepsOpt }) projection.Options.Add(o);
projection.SetAction(p => Emit(ProjectionBench.Run(p.GetValue(threadsOpt), p.GetValue(tokensOpt), p.GetValue(inOptP),
    p.GetValue(outOptP), p.GetValue(projRepsOpt))));

var precisionAb = new Command("precision", "float32 vs bfloat16 matmuls: DPO step A/B in one process, and the log-prob error");
foreach (var o in new Option[] { configsOpt, threadsOpt, modelOpt, stepsOpt, warmupOpt, seedOpt, headOpt }) precisionAb.Options.Add(o);
precisionAb.SetAction(p => Emit(PrecisionBench.Run(Configs(p), p.GetValue(modelOpt)!, p.GetValue(threadsOpt), p.GetValue(stepsOpt),
    p.GetValue(warmupOpt), p.GetValue(seedOpt), p.GetValue(headOpt) == "bfloat16")));

var logprobs = new Command("logprobs", "peak memory of one log-prob computation (run each mode in its own process)");
var modeOpt = new Option<string>("--mode") { Required = true };
modeOpt.AcceptOnlyFromAmong("chunked", "naive");
var vocabOpt = new Option<int>("--vocab") { DefaultValueFactory = _ => 50257 };
var rowsOpt = new Option<int>("--rows") { DefaultValueFactory = _ => 8 };
var seqOpt = new Option<int>("--seq") { DefaultValueFactory = _ => 512 };
var hiddenOpt = new Option<int>("--hidden") { DefaultValueFactory = _ => 256 };
var gradOpt = new Option<bool>("--grad") { Description = "include the backward pass" };
var chunkOpt = new Option<int>("--chunk") { Description = "LM-head rows per chunk (chunked mode)", DefaultValueFactory = _ => AlignSharp.Training.SequenceLogProbs.DefaultChunk };
var layersOpt = new Option<int>("--layers") { Description = "decoder blocks of the GPT-2 trunk under the LM head", DefaultValueFactory = _ => 1 };
foreach (var o in new Option[] { threadsOpt, modeOpt, vocabOpt, rowsOpt, seqOpt, hiddenOpt, gradOpt, chunkOpt, layersOpt }) logprobs.Options.Add(o);
logprobs.SetAction(p => Emit(LogProbsBench.Run(p.GetValue(modeOpt)!, p.GetValue(vocabOpt), p.GetValue(rowsOpt), p.GetValue(seqOpt),
    p.GetValue(hiddenOpt), p.GetValue(threadsOpt), p.GetValue(gradOpt), p.GetValue(chunkOpt), p.GetValue(layersOpt))));

var padding = new Command("padding", "padding waste of random vs length-bucketed batches on a synthetic long-tailed corpus");
var pairsOpt = new Option<int>("--pairs") { DefaultValueFactory = _ => 4000 };
var batchOpt = new Option<int>("--batch-size") { DefaultValueFactory = _ => 8 };
var maxLenOpt = new Option<int>("--max-length") { DefaultValueFactory = _ => 1024 };
foreach (var o in new Option[] { pairsOpt, batchOpt, maxLenOpt }) padding.Options.Add(o);
padding.SetAction(p => Emit(PaddingBench.Run(p.GetValue(pairsOpt), p.GetValue(batchOpt), p.GetValue(maxLenOpt))));

var generate = new Command("generate", "sampling throughput (tokens/s) with the KV cache at a given batch size");
var genBatchOpt = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16 };
var promptsOpt = new Option<int>("--prompts") { DefaultValueFactory = _ => 32 };
var promptLenOpt = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 16 };
var newTokensOpt = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 32 };
foreach (var o in new Option[] { configsOpt, threadsOpt, modelOpt, genBatchOpt, promptsOpt, promptLenOpt, newTokensOpt, seedOpt })
    generate.Options.Add(o);
generate.SetAction(p => Emit(GenerationBench.Run(Configs(p), p.GetValue(modelOpt)!, p.GetValue(threadsOpt),
    p.GetValue(genBatchOpt), p.GetValue(promptsOpt), p.GetValue(promptLenOpt), p.GetValue(newTokensOpt), p.GetValue(seedOpt))));

var report = new Command("report", "aggregate raw JSON lines into summary.{json,csv,md} and chart.png");
var inOpt = new Option<string>("--in") { Required = true };
var outOpt = new Option<string>("--out") { Required = true };
foreach (var o in new Option[] { configsOpt, inOpt, outOpt }) report.Options.Add(o);
report.SetAction(p => Report.Write(Configs(p), p.GetValue(inOpt)!, p.GetValue(outOpt)!));

var supports = new Command("supports", "exit 0 if this build of AlignSharp can build the named model, 1 otherwise");
foreach (var o in new Option[] { configsOpt, modelOpt }) supports.Options.Add(o);
supports.SetAction(p => ModelFactory.Supports(Configs(p).Model(p.GetValue(modelOpt)!)) ? 0 : 1);

var adapterStep = new Command("adapter-step", "peak RSS and tokens/s of DPO steps: full fine-tuning or LoRA (bench/adapters.sh)");
var loraOpt = new Option<int>("--lora-r") { Description = "LoRA rank; 0 = full fine-tuning with a frozen reference copy" };
var targetsOpt = new Option<string?>("--targets") { Description = "comma-separated LoRA target modules (default: the family's)" };
var baseDtypeOpt = new Option<string>("--base-dtype") { DefaultValueFactory = _ => "float32", Description = "float32 or bfloat16 (LoRA base)" };
baseDtypeOpt.AcceptOnlyFromAmong("float32", "bfloat16");
var oneStepOpt = new Option<int>("--steps") { DefaultValueFactory = _ => 1 };
var noWarmupOpt = new Option<int>("--warmup") { DefaultValueFactory = _ => 0 };
foreach (var o in new Option[] { configsOpt, threadsOpt, modelOpt, oneStepOpt, noWarmupOpt, loraOpt, targetsOpt, baseDtypeOpt, seedOpt, ckptOpt })
    adapterStep.Options.Add(o);
adapterStep.SetAction(p => Emit(AdapterStepBench.Run(Configs(p), new AdapterStepOptions(p.GetValue(modelOpt)!,
    p.GetValue(threadsOpt), p.GetValue(oneStepOpt), p.GetValue(noWarmupOpt), p.GetValue(loraOpt),
    p.GetValue(targetsOpt)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    p.GetValue(baseDtypeOpt) == "bfloat16" ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32,
    p.GetValue(ckptOpt), p.GetValue(seedOpt)))));

var hh = new Command("hh", "DPO steps on real preference data (HH-RLHF) for one batching mode: useful tokens/s, peak RSS");
var hhDataOpt = new Option<string>("--data") { DefaultValueFactory = _ => "../shared/data/hh-rlhf-harmless-base/test.jsonl.gz" };
var hhTokOpt = new Option<string>("--tokenizer") { DefaultValueFactory = _ => "../shared/golden/tokenizers/smollm-360m-instruct" };
var hhModelOpt = new Option<string>("--model") { DefaultValueFactory = _ => "hh-small" };
var hhMaxLenOpt = new Option<int>("--max-length") { DefaultValueFactory = _ => 1024 };
var hhBatchOpt = new Option<int>("--batch-size") { DefaultValueFactory = _ => 4, Description = "pairs per batch" };
var hhPairsOpt = new Option<int>("--pairs") { DefaultValueFactory = _ => 32, Description = "pairs drawn from the file under the seed" };
var hhModeOpt = new Option<string>("--batching") { Required = true };
hhModeOpt.AcceptOnlyFromAmong([.. Enum.GetValues<HhBatching>().Select(HhBench.Name)]);
var hhWriteOpt = new Option<string?>("--write-batches") { Description = "save the padded batches as JSON lines for the PyTorch baseline" };
foreach (var o in new Option[] { configsOpt, threadsOpt, hhDataOpt, hhTokOpt, hhModelOpt, hhMaxLenOpt, hhBatchOpt, hhPairsOpt, hhModeOpt, seedOpt, hhWriteOpt })
    hh.Options.Add(o);
hh.SetAction(p => Emit(HhBench.Run(Configs(p), new HhOptions(p.GetValue(hhDataOpt)!, p.GetValue(hhTokOpt)!, p.GetValue(hhModelOpt)!,
    p.GetValue(hhMaxLenOpt), p.GetValue(hhBatchOpt), p.GetValue(hhPairsOpt),
    Enum.GetValues<HhBatching>().First(b => HhBench.Name(b) == p.GetValue(hhModeOpt)), p.GetValue(threadsOpt),
    p.GetValue(seedOpt), p.GetValue(hhWriteOpt)))));

var hhProfile = new Command("hh-profile", "where an HH DPO step's time goes, per phase, padded vs packed (mask) vs packed (segments) in one process");
var hhRoundsOpt = new Option<int>("--rounds") { DefaultValueFactory = _ => 1, Description = "passes over the batches" };
var hhProfileModeOpt = new Option<string>("--batching") { DefaultValueFactory = _ => "random" };
hhProfileModeOpt.AcceptOnlyFromAmong("random", "bucketed");
foreach (var o in new Option[] { configsOpt, threadsOpt, hhDataOpt, hhTokOpt, hhModelOpt, hhMaxLenOpt, hhBatchOpt, hhPairsOpt, hhProfileModeOpt, seedOpt, hhRoundsOpt })
    hhProfile.Options.Add(o);
hhProfile.SetAction(p => Emit(HhProfile.Run(Configs(p), new HhOptions(p.GetValue(hhDataOpt)!, p.GetValue(hhTokOpt)!, p.GetValue(hhModelOpt)!,
    p.GetValue(hhMaxLenOpt), p.GetValue(hhBatchOpt), p.GetValue(hhPairsOpt),
    p.GetValue(hhProfileModeOpt) == "bucketed" ? HhBatching.Bucketed : HhBatching.Random, p.GetValue(threadsOpt),
    p.GetValue(seedOpt), null), p.GetValue(hhRoundsOpt))));

var attention = new Command("attention", "SDPA forward/backward: padded vs packed under the mask vs per-segment, one process");
var lengthsOpt = new Option<string>("--lengths") { Required = true, Description = "comma-separated row lengths" };
var headsOpt = new Option<int>("--heads") { DefaultValueFactory = _ => 9 };
var headDimOpt = new Option<int>("--head-dim") { DefaultValueFactory = _ => 64 };
var attRepsOpt = new Option<int>("--reps") { DefaultValueFactory = _ => 5 };
foreach (var o in new Option[] { threadsOpt, lengthsOpt, headsOpt, headDimOpt, attRepsOpt }) attention.Options.Add(o);
attention.SetAction(p => Emit(AttentionBench.Run([.. p.GetValue(lengthsOpt)!.Split(',').Select(long.Parse)], p.GetValue(headsOpt),
    p.GetValue(headDimOpt), p.GetValue(attRepsOpt), p.GetValue(threadsOpt))));

var optimizerCmd = new Command("optimizer", "AdamW step time: per-parameter vs fused flat buffers, A/B in one process");
var optStepsOpt = new Option<int>("--steps") { DefaultValueFactory = _ => 10 };
foreach (var o in new Option[] { configsOpt, threadsOpt, modelOpt, optStepsOpt, seedOpt }) optimizerCmd.Options.Add(o);
optimizerCmd.SetAction(p => Emit(OptimizerBench.Run(Configs(p), p.GetValue(modelOpt)!, p.GetValue(threadsOpt),
    p.GetValue(optStepsOpt), p.GetValue(seedOpt))));

var hhReport = new Command("hh-report", "the markdown table of bench/hh.sh's raw lines");
foreach (var o in new Option[] { inOpt, outOpt }) hhReport.Options.Add(o);
hhReport.SetAction(p => HhReport.Write(p.GetValue(inOpt)!, p.GetValue(outOpt)!));

var root = new RootCommand("AlignSharp benchmark (see docs/benchmarks.md; run everything with bash bench/run.sh)");
foreach (var c in new[] { gemm, step, precisionAb, projection, adapterStep, logprobs, padding, generate, hh, hhProfile, attention,
    hhReport, optimizerCmd, report, supports }) root.Subcommands.Add(c);
try
{
    return root.Parse(args).Invoke();
}
catch (AlignSharp.AlignSharpException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

BenchConfigs Configs(ParseResult p) => BenchConfigs.Load(p.GetValue(configsOpt) ?? BenchConfigs.DefaultPath());

static void Emit(JsonObject o)
{
    o["lib"] = "alignsharp";
    Console.WriteLine(o.ToJsonString());
}
