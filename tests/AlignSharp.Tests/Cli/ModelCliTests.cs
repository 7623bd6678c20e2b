using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Cli;
using AlignSharp.Evaluation;
using AlignSharp.Generation;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using TorchSharp;

namespace AlignSharp.Tests.Cli;

/// <summary>Console-capturing tests run alone so no other test's output lands in the captured text.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>A tiny random Llama model with SmolLM's tokenizer vocabulary, saved as an HF folder with that tokenizer and its chat template.</summary>
public sealed class TinyModelFolder : IDisposable
{
    public TinyModelFolder()
    {
        Dir = Path.Combine(Directory.CreateTempSubdirectory("alignsharp-cli-").FullName, "model");
        string tokenizerDir = Path.Combine(TestSetup.Shared, "golden", "tokenizers", "smollm-360m-instruct");
        var tokenizer = HfTokenizer.FromFolder(tokenizerDir);
        Eos = tokenizer.EosId!.Value;
        torch.manual_seed(11);
        var cfg = ModelConfig.TinyLlama(tokenizer.VocabSize, hidden: 16, layers: 1, heads: 2, kvHeads: 1) with { EosTokenIds = [Eos], BosTokenId = tokenizer.BosId };
        using var model = ModelFactory.Create(cfg);
        HfCheckpoint.Save(model, Dir, new HfSaveOptions { SourceDir = tokenizerDir });
    }

    public string Dir { get; }

    public int Eos { get; }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(Dir)!, recursive: true);
}

[Collection("Console")]
public sealed class ModelCliTests(TinyModelFolder folder) : IClassFixture<TinyModelFolder>
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void Generate_prints_the_greedy_continuation_of_the_library()
    {
        var (code, output, err) = Run("generate", "--model", folder.Dir, "--prompt", "Hello world", "--max-new-tokens", "6");
        Assert.True(code == 0, err);
        using var model = HfCheckpoint.Load(folder.Dir).Model;
        var tok = AutoTokenizer.FromFolder(folder.Dir);
        var expected = TextGenerator.Generate(model, [tok.Encode("Hello world")], new GenerationOptions { MaxNewTokens = 6, EosTokenIds = [folder.Eos] }).Single();
        Assert.Equal(tok.Decode(expected.Tokens, skipSpecialTokens: true) + Environment.NewLine, output);
    }

    [Fact]
    public void Generate_with_chat_renders_the_folders_template_with_the_generation_prompt()
    {
        var (code, output, err) = Run("generate", "--model", folder.Dir, "--prompt", "Hi there", "--system", "Be brief.", "--chat", "--max-new-tokens", "5");
        Assert.True(code == 0, err);
        using var model = HfCheckpoint.Load(folder.Dir).Model;
        var tok = HfTokenizer.FromFolder(folder.Dir);
        const string rendered = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n";
        var ids = tok.AddSpecialTokensOnce(rendered);
        int imStart = tok.TokenToId("<|im_start|>")!.Value;
        Assert.Equal(imStart, ids[0]);
        Assert.Equal(3, ids.Count(i => i == imStart)); // the template's BOS (<|im_start|>) is not added a second time
        var expected = TextGenerator.Generate(model, [ids], new GenerationOptions { MaxNewTokens = 5, EosTokenIds = [folder.Eos] }).Single();
        Assert.Equal(tok.Decode(expected.Tokens, skipSpecialTokens: true) + Environment.NewLine, output);
    }

    [Fact]
    public void Generate_with_sampling_is_reproducible_under_a_seed()
    {
        string[] args = ["generate", "-m", folder.Dir, "-p", "The", "--max-new-tokens", "12", "--temperature", "1.3", "--top-k", "50", "--top-p", "0.9", "--seed", "5"];
        var first = Run(args);
        var second = Run(args);
        Assert.Equal(0, first.Code);
        Assert.Equal(first.Out, second.Out);
        Assert.NotEqual("", first.Out.Trim());
    }

    [Fact]
    public void Logprobs_prints_one_json_line_per_record_matching_the_library()
    {
        string data = Path.Combine(Path.GetDirectoryName(folder.Dir)!, "records.jsonl");
        File.WriteAllLines(data, ["{\"prompt\": \"The cat\", \"completion\": \" sat on the mat\"}", "", "{\"prompt\": \"1 2 3\", \"completion\": \" 4\", \"extra\": 1}"]);
        var (code, output, err) = Run("logprobs", "--model", folder.Dir, "--data", data, "--batch-size", "1");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1, 3], lines.Select(l => l.GetProperty("line").GetInt32()));
        using var model = HfCheckpoint.Load(folder.Dir).Model;
        var tok = AutoTokenizer.FromFolder(folder.Dir);
        var prompts = new[] { tok.Encode("The cat").ToArray(), tok.Encode("1 2 3").ToArray() };
        var completions = new[] { tok.Encode(" sat on the mat").ToArray(), tok.Encode(" 4").ToArray() };
        var sums = CompletionLogProbs.Compute(model, prompts, completions);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(completions[i].Length, lines[i].GetProperty("tokens").GetInt32());
            Assert.Equal(sums[i], lines[i].GetProperty("logprob_sum").GetDouble(), 6);
            Assert.True(sums[i] < 0);
        }
    }

    [Fact]
    public void Precision_bfloat16_scores_with_bf16_matmuls_and_generates()
    {
        string data = Path.Combine(Path.GetDirectoryName(folder.Dir)!, "records-bf16.jsonl");
        File.WriteAllLines(data, ["{\"prompt\": \"The cat\", \"completion\": \" sat on the mat\"}"]);
        var (code, output, err) = Run("logprobs", "--model", folder.Dir, "--data", data, "--precision", "bfloat16");
        Assert.True(code == 0, err);
        double got = JsonDocument.Parse(output.Trim()).RootElement.GetProperty("logprob_sum").GetDouble();
        using var model = HfCheckpoint.Load(folder.Dir).Model;
        var tok = AutoTokenizer.FromFolder(folder.Dir);
        int[][] prompts = [tok.Encode("The cat").ToArray()], completions = [tok.Encode(" sat on the mat").ToArray()];
        double fp32 = CompletionLogProbs.Compute(model, prompts, completions)[0];
        model.UseMatmulDType(TorchSharp.torch.ScalarType.BFloat16, head: false);
        double bf16 = CompletionLogProbs.Compute(model, prompts, completions)[0];
        Assert.Equal(bf16, got, 6);
        Assert.NotEqual(fp32, got); // the casts happened
        Assert.True(Math.Abs(fp32 - got) < 0.25, $"bf16 {got} vs float32 {fp32}"); // MixedPrecisionTests' bound

        var generated = Run("generate", "--model", folder.Dir, "--prompt", "The cat", "--max-new-tokens", "4", "--precision", "bfloat16");
        Assert.True(generated.Code == 0, generated.Err);
        Assert.Equal(1, Run("generate", "--model", folder.Dir, "--prompt", "x", "--precision", "fp16").Code);
    }

    [Fact]
    public void Bad_input_is_one_error_line_and_exit_code_1()
    {
        string data = Path.Combine(Path.GetDirectoryName(folder.Dir)!, "bad.jsonl");
        File.WriteAllLines(data, ["{\"prompt\": \"a\", \"completion\": \"b\"}", "{\"prompt\": \"a\"}"]);
        var (code, output, err) = Run("logprobs", "--model", folder.Dir, "--data", data);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains($"{data}:2: missing string field 'completion'", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var noChat = Run("generate", "--model", folder.Dir, "--prompt", "x", "--system", "s");
        Assert.Equal(1, noChat.Code);
        Assert.Contains("--system needs --chat", noChat.Err);

        var missing = Run("generate", "--model", Path.Combine(folder.Dir, "nope"), "--prompt", "x");
        Assert.Equal(1, missing.Code);
        Assert.Contains("model folder not found", missing.Err);
    }
}
