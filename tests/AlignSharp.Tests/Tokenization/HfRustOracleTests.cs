using System.Text;
using System.Text.Json.Nodes;
using AlignSharp.Tokenization;
using RustTokenizer = Tokenizers.DotNet.Tokenizer;

namespace AlignSharp.Tests.Tokenization;

/// <summary>
/// The four golden tokenizer.json files plus two built from GPT-2's vocabulary in the Llama 3 style (Split with the
/// Llama 3 regex, ByteLevel without regex, ignore_merges, a BOS template) and the Qwen2 style (NFC, Split with the
/// Qwen2 regex), Mistral's vocabulary in the Llama 2 style (normaliser Prepend("▁") + Replace(" ", "▁"), no
/// pre-tokenizer), and GPT-2 with extra added tokens exercising <c>lstrip</c>, <c>rstrip</c> and <c>single_word</c>,
/// each loaded once in HfTokenizer and once in Hugging Face's Rust tokenizers (Tokenizers.DotNet).
/// </summary>
public sealed class HfRustOracleFixture : IDisposable
{
    private const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly string _tempDir = Directory.CreateTempSubdirectory("alignsharp-oracle-").FullName;
    private readonly Dictionary<string, (HfTokenizer Ours, RustTokenizer Rust)> _pairs = new();

    public static readonly string[] Names =
        ["gpt2", "pythia-410m", "smollm-360m-instruct", "mistral-7b-instruct-v0.3", "llama3-style", "qwen2-style", "llama2-style", "added-token-flags"];

    public HfRustOracleFixture()
    {
        foreach (var name in Names)
        {
            string dir = name switch
            {
                "llama3-style" => WriteVariant(name, Llama3Regex, ignoreMerges: true, nfc: false, bosTemplate: true),
                "qwen2-style" => WriteVariant(name, Qwen2Regex, ignoreMerges: false, nfc: true, bosTemplate: false),
                "added-token-flags" => WriteAddedTokenVariant(name),
                "llama2-style" => WriteLlama2Variant(name),
                _ => Path.Combine(GoldenTokenizerFixture.GoldenDir, name),
            };
            _pairs[name] = (HfTokenizer.FromFolder(dir), new RustTokenizer(Path.Combine(dir, "tokenizer.json")));
        }
    }

    public (HfTokenizer Ours, RustTokenizer Rust) Get(string name) => _pairs[name];

    public void Dispose()
    {
        foreach (var (_, rust) in _pairs.Values) rust.Dispose();
        Directory.Delete(_tempDir, recursive: true);
    }

    /// <summary>GPT-2 plus added tokens with lstrip, rstrip and single_word ("word" is also in the vocabulary, id 4775).</summary>
    private string WriteAddedTokenVariant(string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenTokenizerFixture.GoldenDir, "gpt2", "tokenizer.json")))!;
        var added = json["added_tokens"]!.AsArray();
        added.Add(JsonNode.Parse("""{"id": 50257, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true}"""));
        added.Add(JsonNode.Parse("""{"id": 50258, "content": "[X]", "single_word": false, "lstrip": false, "rstrip": true, "normalized": false, "special": false}"""));
        added.Add(JsonNode.Parse("""{"id": 50259, "content": "<s>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true}"""));
        added.Add(JsonNode.Parse("""{"id": 4775, "content": "word", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false}"""));
        return Save(name, json);
    }

    /// <summary>Mistral's vocabulary and merges with the normaliser-based pipeline of Llama 2's tokenizer.json.</summary>
    private string WriteLlama2Variant(string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenTokenizerFixture.GoldenDir, "mistral-7b-instruct-v0.3", "tokenizer.json")))!;
        json["normalizer"] = JsonNode.Parse("""
            {"type": "Sequence", "normalizers": [
              {"type": "Prepend", "prepend": "▁"},
              {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
            """);
        json["pre_tokenizer"] = null;
        return Save(name, json);
    }

    private string Save(string name, JsonNode json)
    {
        string dir = Path.Combine(_tempDir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        return dir;
    }

    private string WriteVariant(string name, string regex, bool ignoreMerges, bool nfc, bool bosTemplate)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenTokenizerFixture.GoldenDir, "gpt2", "tokenizer.json")))!;
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        if (nfc) json["normalizer"] = new JsonObject { ["type"] = "NFC" };
        json["model"]!["ignore_merges"] = ignoreMerges;
        if (bosTemplate)
            json["post_processor"] = JsonNode.Parse("""
                {"type": "Sequence", "processors": [
                  {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
                  {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                   "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                   "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [50256], "tokens": ["<|endoftext|>"]}}}]}
                """);
        return Save(name, json);
    }
}

/// <summary>Randomized parity with Hugging Face's Rust implementation on texts no golden case covers (fixed seed).</summary>
public sealed class HfRustOracleTests(HfRustOracleFixture fixture) : IClassFixture<HfRustOracleFixture>
{
    private const string Pool =
        "aAbBzZ éèüßçñ 0123456789 ٠١٢ ⅫⅯ ²³ ' 's 'S 'LL \t\n\r\n  .,;:!?-_()[]{}<>\"/\\@#$%^&*+= 日本語中文한국어Русскийعربيעבריתहिन्दीΕλληνικά "
        + "😃👍🏽🇯🇵👨‍👩‍👧 \u200b\u200d\u00a0\u3000 e\u0301 a\u0323\u0307 \u1100\u1161 𝐀𝐁𝟎𝟏𠮷";

    private static readonly string[] Fragments =
        [" ", "  ", "   ", "\n", "\n\n", "<s>", "</s>", "[INST]", "[/INST]", "<|endoftext|>", "<|im_start|>", "hello", " world", "'s", "IT'S", "2024-06-30", "    ",
         "<mask>", " <mask> ", "[X]", "[X]  ", "word", " word ", "_word", "swords", "\u200dword", "𝐀word"];

    public static TheoryData<string> Names() => new(HfRustOracleFixture.Names);

    [Theory]
    [MemberData(nameof(Names))]
    public void Random_texts_encode_and_decode_like_hugging_face_rust(string name)
    {
        var (ours, rust) = fixture.Get(name);
        var runes = Pool.EnumerateRunes().ToArray();
        var rng = new Random(20261126);
        for (int i = 0; i < 400; i++)
        {
            var sb = new StringBuilder();
            int length = rng.Next(0, i < 350 ? 40 : 400);
            for (int k = 0; k < length; k++)
                sb.Append(rng.Next(6) == 0 ? Fragments[rng.Next(Fragments.Length)] : runes[rng.Next(runes.Length)].ToString());
            string text = sb.ToString();

            // Tokenizers.DotNet encodes with the post-processor and decodes skipping special tokens.
            var expected = rust.Encode(text).Select(id => (int)id).ToArray();
            var actual = ours.Encode(text, addSpecialTokens: true).ToArray();
            Assert.True(expected.SequenceEqual(actual),
                $"{name}: ids differ for {System.Text.Json.JsonSerializer.Serialize(text)}\n  hf:   [{string.Join(",", expected)}]\n  ours: [{string.Join(",", actual)}]");
            Assert.Equal(rust.Decode(expected.Select(id => (uint)id).ToArray()), ours.Decode(actual, skipSpecialTokens: true));
        }
    }
}
