using System.CommandLine;
using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Evaluation;
using AlignSharp.Experiments.Pictures;
using AlignSharp.Tokenization;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp logprobs --model DIR --data FILE.jsonl [--batch-size N]</c>: for each record {"prompt", "completion"},
/// prints one JSON line {"line", "logprob_sum", "tokens"}: log p(completion | prompt) summed over the completion's tokens.
/// The prompt is encoded with the tokenizer's special tokens (BOS once), the completion without; no EOS is appended.
/// With <c>--token-rewards --reference DIR [--beta B] [--plot FILE.png [--plot-line N]]</c> it prints the
/// <c>token_rewards</c> output instead (docs/objectives.md): {"line", "tokens", "token_texts", "policy_logps",
/// "reference_logps", "token_rewards", "cumulative_rewards", "sequence_reward"} per record, and draws one record's
/// tokens coloured by their implicit reward.
/// </summary>
internal sealed class LogprobsCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer)", Required = true };
        var data = new Option<FileInfo>("--data", "-d") { Description = "JSONL file of {\"prompt\": ..., \"completion\": ...} records", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "records scored per forward pass", DefaultValueFactory = _ => 8 };
        var tokenRewards = new Option<bool>("--token-rewards") { Description = "print per-token, cumulative and sequence implicit rewards beta (log pi - log pi_ref) against --reference" };
        var reference = new Option<DirectoryInfo?>("--reference") { Description = "the reference model folder (with --token-rewards), e.g. the run's starting model" };
        var beta = new Option<double>("--beta") { Description = "beta of the implicit reward (with --token-rewards)", DefaultValueFactory = _ => 0.1 };
        var plot = new Option<FileInfo?>("--plot") { Description = "PNG of one record's tokens coloured by implicit reward (with --token-rewards)" };
        var plotLine = new Option<int?>("--plot-line") { Description = "the data line drawn by --plot (default: the first record)" };
        var precision = PrecisionOption.Create();
        var cmd = new Command("logprobs", "Print completion log-prob sums and token counts for prompt/completion records (or, with --token-rewards, implicit rewards per token).")
        {
            model, data, batch, tokenRewards, reference, beta, plot, plotLine, precision,
        };
        cmd.SetAction(r =>
        {
            if (!r.GetValue(tokenRewards) && (r.GetValue(reference) is not null || r.GetValue(plot) is not null))
                throw new AlignSharpException("--reference and --plot go with --token-rewards");
            var records = PromptCompletionJsonl.Read(r.GetValue(data)!.FullName);
            using var folder = ModelFolder.Open(r.GetValue(model)!.FullName);
            PrecisionOption.Apply(r.GetValue(precision)!, folder.Loaded.Model);
            var prompts = records.Select(x => folder.Tokenizer.AddSpecialTokensOnce(x.Prompt).ToArray()).ToList();
            var completions = records.Select(x => folder.Tokenizer.Encode(x.Completion).ToArray()).ToList();
            var cfg = folder.Loaded.Config;
            for (int i = 0; i < records.Count; i++)
            {
                if (prompts[i].Length == 0)
                    throw new AlignSharpException($"{r.GetValue(data)!.FullName}:{records[i].Line}: the prompt encodes to no tokens (a completion needs at least one token before it)");
                if (cfg.MaxSequenceLength is int limit && prompts[i].Length + completions[i].Length > limit)
                    throw new AlignSharpException($"{r.GetValue(data)!.FullName}:{records[i].Line}: {prompts[i].Length + completions[i].Length} tokens exceed the model's {limit} positions");
            }
            if (r.GetValue(tokenRewards))
            {
                var refDir = r.GetValue(reference)?.FullName
                    ?? throw new AlignSharpException("--token-rewards needs --reference DIR (the model the policy was trained against)");
                // The reference reads the policy's tokens: its folder needs no tokenizer, only the same vocabulary.
                using var refModel = HfCheckpoint.Load(refDir).Model;
                if (refModel.Config.VocabSize != cfg.VocabSize)
                    throw new AlignSharpException($"--reference {refDir}: vocab_size {refModel.Config.VocabSize}, the policy's {cfg.VocabSize}");
                if (folder.Loaded.Model.MatmulDType is not null) refModel.UseMatmulDType(folder.Loaded.Model.MatmulDType);
                var readings = TokenRewardReadout.Compute(folder.Loaded.Model, refModel, prompts, completions, r.GetValue(beta), r.GetValue(batch));
                for (int i = 0; i < records.Count; i++)
                {
                    var x = readings[i];
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        line = records[i].Line, tokens = x.Tokens, token_texts = x.Tokens.Select(t => folder.Tokenizer.Decode([t])),
                        policy_logps = x.PolicyLogProbs, reference_logps = x.ReferenceLogProbs, token_rewards = x.TokenRewards,
                        cumulative_rewards = x.CumulativeRewards, sequence_reward = x.SequenceReward,
                    }));
                }
                if (r.GetValue(plot) is { } png)
                {
                    int wanted = r.GetValue(plotLine) ?? records[0].Line;
                    int at = records.ToList().FindIndex(x => x.Line == wanted);
                    if (at < 0) throw new AlignSharpException($"--plot-line {wanted}: {r.GetValue(data)!.FullName} has no record on that line");
                    var texts = readings[at].Tokens.Select(t => folder.Tokenizer.Decode([t])).ToList();
                    TokenRewardPicture.Write(png.FullName, texts, readings[at].TokenRewards,
                        $"token rewards (beta {r.GetValue(beta).ToString(System.Globalization.CultureInfo.InvariantCulture)}), line {wanted}: {Shorten(records[at].Prompt)}");
                    Console.Error.WriteLine($"wrote {png.FullName}");
                }
                return 0;
            }
            var sums = CompletionLogProbs.Compute(folder.Loaded.Model, prompts, completions, r.GetValue(batch));
            for (int i = 0; i < records.Count; i++)
                Console.WriteLine(JsonSerializer.Serialize(new { line = records[i].Line, logprob_sum = sums[i], tokens = completions[i].Length }));
            return 0;
        });
        return cmd;
    }

    private static string Shorten(string prompt)
    {
        string one = prompt.Replace('\n', ' ').Trim();
        return one.Length <= 50 ? one : one[..47] + "...";
    }
}
