using System.CommandLine;
using AlignSharp.Generation;
using AlignSharp.Tokenization;
using TorchSharp;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp generate --model DIR --prompt TEXT [--max-new-tokens N --temperature T --top-k K --top-p P --seed S]</c>.</summary>
internal sealed class GenerateCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer)", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "prompt text (encoded with the tokenizer's special tokens, BOS added once)", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "most tokens to generate", DefaultValueFactory = _ => 64 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy; > 0 samples at this temperature", DefaultValueFactory = _ => 0 };
        var topK = new Option<int>("--top-k") { Description = "sample among the k most likely tokens (0 = off)", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "nucleus sampling threshold (1 = off)", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<ulong>("--seed") { Description = "random seed for sampling", DefaultValueFactory = _ => 0 };
        var cmd = new Command("generate", "Continue a prompt with a Hugging Face model folder (KV-cache decoding).") { model, prompt, maxNew, temperature, topK, topP, seed };
        cmd.SetAction(r =>
        {
            using var folder = ModelFolder.Open(r.GetValue(model)!.FullName);
            var ids = folder.Tokenizer.AddSpecialTokensOnce(r.GetValue(prompt)!);
            var options = new GenerationOptions
            {
                MaxNewTokens = r.GetValue(maxNew),
                Temperature = r.GetValue(temperature),
                TopK = r.GetValue(topK),
                TopP = r.GetValue(topP),
                EosTokenIds = folder.EosIds,
                PadTokenId = folder.Tokenizer.PadId ?? folder.EosIds.FirstOrDefault(),
            };
            using var rng = new torch.Generator(r.GetValue(seed));
            var result = TextGenerator.Generate(folder.Loaded.Model, [ids], options, rng).Single();
            Console.WriteLine(folder.Tokenizer.Decode(result.Tokens, skipSpecialTokens: true));
            return 0;
        });
        return cmd;
    }
}
