using System.CommandLine;
using System.Text.Json.Nodes;
using AlignSharp.Data;
using AlignSharp.Generation;
using AlignSharp.Tokenization;
using AlignSharp.Tokenization.ChatTemplates;
using TorchSharp;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp generate --model DIR --prompt TEXT [--chat [--system TEXT]] [--max-new-tokens N --temperature T --top-k K --top-p P --seed S]</c>.
/// With <c>--chat</c> the prompt becomes a user turn rendered by the folder's chat template with the generation prompt.
/// </summary>
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
        var chat = new Option<bool>("--chat") { Description = "wrap the prompt as a user message with the folder's chat template (tokenizer_config.json)" };
        var system = new Option<string?>("--system") { Description = "system message (with --chat)" };
        var precision = PrecisionOption.Create();
        var cmd = new Command("generate", "Continue a prompt with a Hugging Face model folder (KV-cache decoding).")
        {
            model, prompt, chat, system, maxNew, temperature, topK, topP, seed, precision,
        };
        cmd.SetAction(r =>
        {
            string dir = r.GetValue(model)!.FullName;
            using var folder = ModelFolder.Open(dir);
            PrecisionOption.Apply(r.GetValue(precision)!, folder.Loaded.Model);
            string text = r.GetValue(prompt)!;
            if (r.GetValue(chat)) text = RenderChat(dir, r.GetValue(system), text);
            else if (r.GetValue(system) is not null) throw new AlignSharpException("--system needs --chat");
            var ids = folder.Tokenizer.AddSpecialTokensOnce(text);
            var options = new GenerationOptions
            {
                MaxNewTokens = r.GetValue(maxNew),
                Temperature = r.GetValue(temperature),
                TopK = r.GetValue(topK),
                TopP = r.GetValue(topP),
                EosTokenIds = folder.EosIds,
                PadTokenId = PadRule.IdFor(folder.Tokenizer),
            };
            using var rng = new torch.Generator(r.GetValue(seed));
            var result = TextGenerator.Generate(folder.Loaded.Model, [ids], options, rng).Single();
            Console.WriteLine(folder.Tokenizer.Decode(result.Tokens, skipSpecialTokens: true));
            return 0;
        });
        return cmd;
    }

    /// <summary>The chat template's rendering of [system?, user] with the assistant header appended.</summary>
    internal static string RenderChat(string dir, string? system, string user)
    {
        string config = Path.Combine(dir, "tokenizer_config.json");
        if (!File.Exists(config)) throw new AlignSharpException($"{config}: not found; --chat needs the folder's chat template");
        var template = ChatTemplate.FromTokenizerConfig(config);
        var messages = new JsonArray();
        if (system is not null) messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = user });
        return template.Render(new ChatTemplateInput(messages) { AddGenerationPrompt = true });
    }
}
