using AlignSharp.Cli;
using AlignSharp.Config;
using AlignSharp.Runs;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// Every folder a run saves (<c>checkpoint-N/</c>, <c>final/</c>) is usable on its own: it holds the tokenizer (the
/// byte tokenizer as a tokenizer.json of its own) and the resolved config, so the tool's commands take it as a model.
/// </summary>
[Collection("Console")]
public sealed class SelfContainedOutputTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    private static string Example(string name) => Path.Combine(TestSetup.RepoRoot, "examples", name);

    [Fact]
    public void Byte_tokenizer_json_loads_back_as_a_tokenizer_that_encodes_and_decodes_like_the_byte_tokenizer()
    {
        string dir = TestTemp.Dir("bytetok");
        ByteTokenizerFiles.WriteInto(dir);
        var loaded = AutoTokenizer.FromFolder(dir);
        var bytes = new ByteTokenizer();
        Assert.Equal(bytes.VocabSize, loaded.VocabSize);
        Assert.Equal((bytes.BosId, bytes.EosId, bytes.PadId), (loaded.BosId, loaded.EosId, loaded.PadId));
        foreach (var text in new[] { "review: the film was", "  two  spaces\nand a line", "café – 日本語 🙂", "" })
        {
            var ids = loaded.Encode(text);
            Assert.Equal(bytes.Encode(text), ids);
            Assert.Equal(text, loaded.Decode(ids));
        }
        Assert.Equal(bytes.Decode([ByteTokenizer.Bos, 104, 105, ByteTokenizer.Eos]),
            loaded.Decode([ByteTokenizer.Bos, 104, 105, ByteTokenizer.Eos]));
    }

    [Fact]
    public void Checkpoint_and_final_folders_of_a_byte_tokenizer_run_work_with_generate_logprobs_eval_and_train()
    {
        string root = TestTemp.Dir("selfcontained");
        string output = Path.Combine(root, "run");
        var (code, _, err) = Run("train", "--config", Example("dpo-tiny.yaml"), "--set", $"output_dir={output}",
            "--set", $"data.train={Example("tiny-pairs.jsonl")}", "--set", "training.max_steps=2",
            "--set", "training.save_steps=1", "--set", "training.eval_steps=0");
        Assert.True(code == 0, err);
        string records = Path.Combine(root, "completions.jsonl");
        File.WriteAllText(records, "{\"prompt\": \"review: the book was\", \"completion\": \" warm.\"}\n");
        foreach (var saved in new[] { "checkpoint-2", "final" })
        {
            string dir = Path.Combine(output, saved);
            Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")), $"{saved}: no tokenizer.json");
            var resolved = RunConfig.Load(Path.Combine(dir, RunOutputFiles.ConfigFile));
            Assert.Equal(output, resolved.OutputDir);
            Assert.Equal(2, resolved.Training.MaxSteps);

            (code, _, err) = Run("generate", "--model", dir, "--prompt", "review: the film was", "--max-new-tokens", "4");
            Assert.True(code == 0, $"generate on {saved}: {err}");
            (code, var lines, err) = Run("logprobs", "--model", dir, "--data", records);
            Assert.True(code == 0, $"logprobs on {saved}: {err}");
            Assert.Contains("\"logprob_sum\"", lines);
            (code, _, err) = Run("eval", "--policy", dir, "--reference", Path.Combine(output, "checkpoint-1"),
                "--pairs", Example("tiny-pairs.jsonl"));
            Assert.True(code == 0, $"eval on {saved}: {err}");
            (code, _, err) = Run("train", "--config", Example("dpo-tiny.yaml"), "--set", $"model.path={dir}",
                "--set", "tokenizer=null", "--set", $"output_dir={Path.Combine(root, "again-" + saved)}",
                "--set", $"data.train={Example("tiny-pairs.jsonl")}", "--set", "training.max_steps=1");
            Assert.True(code == 0, $"train from {saved} (its own tokenizer): {err}");
        }
    }
}
