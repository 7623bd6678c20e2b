using System.Text.Json.Nodes;
using AlignSharp.Tests.Models;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// The README's "Train a Hugging Face model" path with <c>examples/hf-folder-dpo.yaml</c> as written (LoRA, the
/// tokenizer from the model folder): validate, train, generate on final/ (refused with the merge command), adapters
/// merge, generate on the merged folder. The Hugging Face folder is the golden Llama fixture plus a character-level
/// tokenizer.json that fits its vocabulary (the fixtures ship without tokenizers).
/// </summary>
[Collection("Console")]
public sealed class HfFolderExampleTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    /// <summary>A copy of the Llama fixture with a BPE tokenizer.json of single characters (no merges) and BOS/EOS.</summary>
    private static string HfFolder()
    {
        var fixture = FixtureModels.Llama;
        string dir = Path.Combine(TestTemp.Dir("hf-folder"), fixture.Name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(fixture.Dir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string[] specials = ["<unk>", "<s>", "</s>"];
        var chars = Enumerable.Range(32, 91).Select(c => ((char)c).ToString()).Append("\n").ToArray();
        Assert.True(specials.Length + chars.Length <= fixture.VocabSize, "the tokenizer must fit the fixture's vocabulary");
        var vocab = new JsonObject();
        foreach (var token in specials.Concat(chars)) vocab[token] = vocab.Count;
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null,
            ["added_tokens"] = new JsonArray(specials.Select((t, i) => (JsonNode)new JsonObject
            {
                ["id"] = i, ["content"] = t, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null, ["pre_tokenizer"] = null, ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "Fuse" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = true, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast", ["bos_token"] = "<s>", ["eos_token"] = "</s>",
            ["unk_token"] = "<unk>",
        }.ToJsonString());
        return dir;
    }

    [Fact]
    public void The_hf_folder_example_validates_trains_merges_and_generates_as_the_readme_says()
    {
        string model = HfFolder();
        string output = Path.Combine(Path.GetDirectoryName(model)!, "run");
        string example = Path.Combine(TestSetup.RepoRoot, "examples", "hf-folder-dpo.yaml");
        string data = Path.Combine(TestSetup.RepoRoot, "examples", "tiny-pairs.jsonl");
        string[] sets = ["--set", $"model.path={model}", "--set", $"output_dir={output}", "--set", $"data.train={data}",
            "--set", "training.max_steps=2", "--set", "training.save_steps=0"];

        var (code, stdout, err) = Run(["validate", "--config", example, .. sets]);
        Assert.True(code == 0, err);
        Assert.Contains($"tokenizer: {model} (", stdout);
        Assert.Contains($"model.path: {model} (llama, vocab {FixtureModels.Llama.VocabSize},", stdout);

        (code, stdout, err) = Run(["train", "--config", example, .. sets]);
        Assert.True(code == 0, err);
        string final = Path.Combine(output, "final");
        Assert.True(File.Exists(Path.Combine(final, "adapter_config.json")), "final/ is a PEFT adapter folder");
        Assert.True(File.Exists(Path.Combine(final, "tokenizer.json")), "final/ carries the folder's tokenizer");

        (code, _, err) = Run("generate", "--model", final, "--prompt", "review: the film was");
        Assert.Equal(1, code);
        Assert.Contains($"alignsharp adapters merge --base {model} --adapter {final}", err);

        string merged = Path.Combine(output, "merged");
        (code, _, err) = Run("adapters", "merge", "--base", model, "--adapter", final, "--out", merged);
        Assert.True(code == 0, err);
        (code, stdout, err) = Run("generate", "--model", merged, "--prompt", "review: the film was", "--max-new-tokens", "5");
        Assert.True(code == 0, err);
        // The continuation alone: at most 5 new tokens of one character each (special tokens are not printed).
        Assert.InRange(stdout.TrimEnd('\n').Length, 0, 5);
    }
}
