using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Runs;
using AlignSharp.Tasks;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp eval --policy DIR --reference DIR [--pairs FILE --beta B] [--task review | --prompts FILE] [--judge reward|endpoint ...]</c>:
/// implicit-reward accuracy on held-out pairs, and from policy samples on prompts the KL to the reference, the
/// ground-truth reward (review task) and the win rate over reference samples under a judge.
/// </summary>
internal sealed class EvalCommand : ICliCommand
{
    public Command Build()
    {
        var policy = new Option<DirectoryInfo>("--policy") { Description = "Hugging Face folder of the trained policy", Required = true };
        var reference = new Option<DirectoryInfo>("--reference") { Description = "Hugging Face folder of the reference model", Required = true };
        var byteTokenizer = new Option<bool>("--byte-tokenizer") { Description = "use the byte-level demo tokenizer instead of the folder's" };
        var pairs = new Option<string?>("--pairs") { Description = "held-out preference data (any format `train` reads: a file, a folder or a glob) for implicit-reward accuracy" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var beta = new Option<double>("--beta") { Description = "β of the implicit reward β(log π - log π_ref)", DefaultValueFactory = _ => 0.1 };
        var task = new Option<string?>("--task") { Description = "'review': held-out prompts and the ground-truth reward of the synthetic review task" };
        var prompts = new Option<FileInfo?>("--prompts") { Description = "prompts to sample, one per line (instead of --task prompts)" };
        var numPrompts = new Option<int>("--num-prompts") { Description = "prompts drawn for --task review", DefaultValueFactory = _ => 64 };
        var samples = new Option<int>("--samples") { Description = "samples per prompt", DefaultValueFactory = _ => 2 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "longest sampled completion", DefaultValueFactory = _ => 48 };
        var seed = new Option<int>("--seed") { Description = "seed of prompts and sampling", DefaultValueFactory = _ => 1 };
        var judge = new Option<string>("--judge") { Description = "win-rate judge: none, reward (the task's ground truth) or endpoint (an OpenAI-compatible chat model)", DefaultValueFactory = _ => "none" };
        var judgeUrl = new Option<Uri?>("--judge-url") { Description = "base URL of the judge endpoint, e.g. http://localhost:8000/v1" };
        var judgeModel = new Option<string?>("--judge-model") { Description = "model name at the judge endpoint" };
        var judgeKeyEnv = new Option<string>("--judge-api-key-env") { Description = "environment variable holding the endpoint's API key", DefaultValueFactory = _ => "OPENAI_API_KEY" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        var cmd = new Command("eval", "Evaluate a policy against its reference: implicit-reward accuracy, KL, ground-truth reward, win rate.")
        {
            policy, reference, byteTokenizer, pairs, device, beta, task, prompts, numPrompts, samples, maxNew, seed, judge, judgeUrl, judgeModel, judgeKeyEnv, json,
        };
        cmd.SetAction(r =>
        {
            var taskName = r.GetValue(task);
            if (taskName is not null and not "review") throw new EvaluationException($"--task: unknown task '{taskName}' (known: review)");
            var judgeName = r.GetValue(judge)!;
            if (judgeName is not ("none" or "reward" or "endpoint")) throw new EvaluationException($"--judge: must be none, reward or endpoint, got '{judgeName}'");
            if (judgeName == "reward" && taskName is null) throw new EvaluationException("--judge reward needs --task review (the only ground-truth reward)");
            if (judgeName == "endpoint" && (r.GetValue(judgeUrl) is null || r.GetValue(judgeModel) is null))
                throw new EvaluationException("--judge endpoint needs --judge-url and --judge-model");

            var target = ComputeTarget.Cpu with { Device = ComputeTarget.ParseDevice(r.GetValue(device)!, "--device") };
            using var policyModel = RunBuilder.Load(r.GetValue(policy)!.FullName, target).Model;
            using var referenceModel = RunBuilder.Load(r.GetValue(reference)!.FullName, target).Model;
            policyModel.eval();
            referenceModel.eval();
            string tokenizerSpec = r.GetValue(byteTokenizer) ? RunTokenizer.Byte : r.GetValue(policy)!.FullName;
            var tokenizer = RunTokenizer.Load(tokenizerSpec);
            var result = new JsonObject();

            if (r.GetValue(pairs) is { } pairSpec)
            {
                // The one data path: every format train reads; what is not used is reported on stderr.
                var data = new RunData(new DataSection { MaxLength = policyModel.Config.MaxPositions }, tokenizer,
                    RunChatTemplate.Resolve(null, tokenizerSpec, "--pairs", "evaluate with a policy folder whose " +
                        "tokenizer_config.json has a chat_template (a run's final/ holds the one it trained with)")
                        .Formatter, r.GetValue(seed), Console.Error.WriteLine);
                var tokenized = data.Load("pairs", pairSpec).Pairs;
                var acc = ImplicitRewardAccuracy.Compute(policyModel, referenceModel, tokenized, r.GetValue(beta));
                result["implicit_reward"] = new JsonObject { ["pairs"] = acc.Count, ["beta"] = r.GetValue(beta), ["accuracy"] = acc.Accuracy, ["mean_margin"] = acc.MeanMargin };
            }

            IReadOnlyList<string>? promptList = r.GetValue(prompts) is { } pf
                ? File.Exists(pf.FullName) ? File.ReadAllLines(pf.FullName).Where(l => l.Length > 0).ToList() : throw new FileNotFoundException($"prompts file not found: {pf.FullName}", pf.FullName)
                : taskName == "review" ? ReviewGenerator.Default.Prompts(r.GetValue(numPrompts), r.GetValue(seed) + 101) : null;
            if (promptList is not null)
            {
                var repeated = promptList.SelectMany(p => Enumerable.Repeat(p, r.GetValue(samples))).ToList();
                var drawn = PolicySamples.Draw(policyModel, tokenizer, repeated, r.GetValue(maxNew), r.GetValue(seed));
                var kl = SequenceKl.Estimate(policyModel, referenceModel, drawn.PromptIds, drawn.CompletionIds);
                result["samples"] = drawn.Count;
                result["kl"] = Json(kl);
                IRewardFunction? reward = taskName == "review" ? ReviewReward.Default : null;
                if (reward is not null) result["ground_truth_reward"] = Json(Estimate.Of(repeated.Zip(drawn.Completions, reward.Score).ToArray()));
                IPairJudge? pairJudge = judgeName switch
                {
                    "reward" => new RewardJudge(reward!),
                    "endpoint" => new ChatEndpointJudge(
                        ChatEndpointJudge.CreateClient(r.GetValue(judgeUrl)!, r.GetValue(judgeModel)!, Environment.GetEnvironmentVariable(r.GetValue(judgeKeyEnv)!)),
                        new ChatEndpointJudgeOptions { ModelId = r.GetValue(judgeModel) }),
                    _ => null,
                };
                if (pairJudge is not null)
                {
                    var referenceSamples = PolicySamples.Draw(referenceModel, tokenizer, repeated, r.GetValue(maxNew), r.GetValue(seed) + 1);
                    var win = WinRate.ComputeAsync(pairJudge, repeated, drawn.Completions, referenceSamples.Completions, r.GetValue(seed)).GetAwaiter().GetResult();
                    result["win_rate"] = new JsonObject
                    {
                        ["judge"] = judgeName, ["rate"] = win.Rate.Mean, ["se"] = win.Rate.StandardError,
                        ["wins"] = win.Wins, ["ties"] = win.Ties, ["losses"] = win.Losses, ["invalid"] = win.Invalid,
                    };
                }
            }
            if (result.Count == 0) throw new EvaluationException("nothing to evaluate: give --pairs, --task review or --prompts");
            if (r.GetValue(json)) Console.WriteLine(result.ToJsonString());
            else PrintText(result);
            return 0;
        });
        return cmd;
    }

    private static JsonObject Json(Estimate e) => new() { ["mean"] = e.Mean, ["se"] = e.StandardError, ["n"] = e.Count };

    private static void PrintText(JsonObject result)
    {
        string F(JsonNode? n) => n is null ? "-" : n.GetValue<double>().ToString("0.0000", CultureInfo.InvariantCulture);
        if (result["implicit_reward"] is JsonObject ir)
            Console.WriteLine($"implicit-reward accuracy: {F(ir["accuracy"])} on {ir["pairs"]} pairs (β {ir["beta"]}, mean margin {F(ir["mean_margin"])})");
        if (result["kl"] is JsonObject kl)
            Console.WriteLine($"KL(policy || reference): {F(kl["mean"])} ± {F(kl["se"])} nats over {kl["n"]} samples");
        if (result["ground_truth_reward"] is JsonObject gt)
            Console.WriteLine($"ground-truth reward: {F(gt["mean"])} ± {F(gt["se"])}");
        if (result["win_rate"] is JsonObject w)
            Console.WriteLine($"win rate vs reference ({w["judge"]} judge): {F(w["rate"])} ± {F(w["se"])} (wins {w["wins"]}, ties {w["ties"]}, losses {w["losses"]}, invalid {w["invalid"]})");
    }
}
