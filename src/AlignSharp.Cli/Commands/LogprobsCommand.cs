using System.CommandLine;
using System.Text.Json;
using AlignSharp.Evaluation;
using AlignSharp.Tokenization;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp logprobs --model DIR --data FILE.jsonl [--batch-size N]</c>: for each record {"prompt", "completion"},
/// prints one JSON line {"line", "logprob_sum", "tokens"}: log p(completion | prompt) summed over the completion's tokens.
/// The prompt is encoded with the tokenizer's special tokens (BOS once), the completion without; no EOS is appended.
/// </summary>
internal sealed class LogprobsCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer)", Required = true };
        var data = new Option<FileInfo>("--data", "-d") { Description = "JSONL file of {\"prompt\": ..., \"completion\": ...} records", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "records scored per forward pass", DefaultValueFactory = _ => 8 };
        var cmd = new Command("logprobs", "Print completion log-prob sums and token counts for prompt/completion records.") { model, data, batch };
        cmd.SetAction(r =>
        {
            var records = PromptCompletionJsonl.Read(r.GetValue(data)!.FullName);
            using var folder = ModelFolder.Open(r.GetValue(model)!.FullName);
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
            var sums = CompletionLogProbs.Compute(folder.Loaded.Model, prompts, completions, r.GetValue(batch));
            for (int i = 0; i < records.Count; i++)
                Console.WriteLine(JsonSerializer.Serialize(new { line = records[i].Line, logprob_sum = sums[i], tokens = completions[i].Length }));
            return 0;
        });
        return cmd;
    }
}
