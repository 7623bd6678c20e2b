using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Tokenization;

/// <summary>Missing or bad tokenizer files give one <see cref="TokenizerException"/> naming the file and the problem.</summary>
public sealed class TokenizerLoadingErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("alignsharp-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private const string ValidModel = """
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": ["a b"]}
        """;

    [Fact]
    public void Missing_tokenizer_json_names_the_file()
    {
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFolder(_dir));
        Assert.Contains(Path.Combine(_dir, "tokenizer.json"), e.Message);
        Assert.Contains("not found", e.Message);
        Assert.IsAssignableFrom<AlignSharpException>(e);
    }

    [Fact]
    public void Truncated_json_names_the_file_and_line()
    {
        string path = Write("tokenizer.json", "{\n  \"model\": {\"type\": \"BPE\",\n");
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFile(path));
        Assert.StartsWith(path + ": invalid JSON at line", e.Message);
    }

    [Fact]
    public void Unsupported_model_type_is_named()
    {
        string path = Write("tokenizer.json", """{"model": {"type": "WordPiece", "vocab": {}}}""");
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFile(path));
        Assert.Equal($"{path}: model type 'WordPiece' is not supported (supported: BPE)", e.Message);
    }

    [Fact]
    public void Unsupported_pre_tokenizer_is_named()
    {
        string path = Write("tokenizer.json", "{" + ValidModel + """, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}]}}""");
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFile(path));
        Assert.Contains($"{path}: pre_tokenizer.pretokenizers[0] type 'Whitespace' is not supported", e.Message);
    }

    [Fact]
    public void Merge_with_a_token_outside_the_vocabulary_is_named()
    {
        string path = Write("tokenizer.json", """{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a c"]}}""");
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFile(path));
        Assert.Equal($"{path}: model.merges[1] ('a' 'c') uses a token missing from model.vocab", e.Message);
    }

    [Fact]
    public void Wrongly_typed_value_is_a_tokenizer_exception()
    {
        string path = Write("tokenizer.json", """{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}""");
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFile(path));
        Assert.Contains("model.vocab[\"a\"]", e.Message);
    }

    [Fact]
    public void Special_token_missing_from_the_vocabulary_names_the_config_and_key()
    {
        string json = Write("tokenizer.json", "{" + ValidModel + "}");
        string config = Write("tokenizer_config.json", """{"eos_token": {"content": "</s>"}}""");
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromFile(json, config));
        Assert.Equal($"{config}: eos_token '</s>' is neither an added token nor in the vocabulary of the tokenizer.json", e.Message);
    }

    [Fact]
    public void Minimal_tokenizer_loads_and_merges()
    {
        string json = Write("tokenizer.json", "{" + ValidModel + "}");
        string config = Write("tokenizer_config.json", """{"bos_token": "<s>", "eos_token": null}""");
        var tok = HfTokenizer.FromFile(json, config);
        // No pre-tokenizer: the whole text is one word; "a b" merges into "ab".
        Assert.Equal([2, 0], tok.Encode("aba"));
        Assert.Equal(3, tok.BosId);
        Assert.Null(tok.EosId);
    }

    [Fact]
    public void Template_gives_bos_and_eos_when_no_config_names_them_and_once_adds_each_end_once()
    {
        string json = Write("tokenizer.json", """
            {"added_tokens": [
               {"id": 3, "content": "<s>", "special": true, "normalized": false},
               {"id": 4, "content": "</s>", "special": true, "normalized": false}],
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3, "</s>": 4}, "merges": ["a b"]},
             "post_processor": {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
               "pair": [],
               "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [4], "tokens": ["</s>"]}}}}
            """);
        var tok = HfTokenizer.FromFile(json);
        Assert.Equal(3, tok.BosId);
        Assert.Equal(4, tok.EosId);
        Assert.Equal([3, 2, 4], tok.Encode("ab", addSpecialTokens: true));
        Assert.Equal([3, 3, 2, 4, 4], tok.Encode("<s>ab</s>", addSpecialTokens: true)); // Hugging Face's behaviour
        Assert.Equal([3, 2, 4], tok.AddSpecialTokensOnce("<s>ab</s>"));
        Assert.Equal([3, 2, 4], tok.AddSpecialTokensOnce("ab</s>"));
        Assert.Equal([3, 2, 4], tok.AddSpecialTokensOnce("<s>ab"));
        // No decoder: tokens are joined with spaces, special ones dropped on request.
        Assert.Equal("<s> ab </s>", tok.Decode([3, 2, 4]));
        Assert.Equal("ab", tok.Decode([3, 2, 4], skipSpecialTokens: true));
    }
}
