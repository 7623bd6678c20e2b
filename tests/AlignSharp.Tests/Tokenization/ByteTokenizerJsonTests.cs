using System.Text;
using System.Text.Json.Nodes;
using AlignSharp.Tokenization;
using RustTokenizer = Tokenizers.DotNet.Tokenizer;

namespace AlignSharp.Tests.Tokenization;

/// <summary>
/// The byte tokenizer's tokenizer.json (what every byte-tokenizer <c>final/</c> and <c>checkpoint-N/</c> holds) is a
/// file Hugging Face's tokenizers library reads as we mean it: its layout is the layout of the real tokenizer.json
/// files in ../shared/golden/tokenizers, and Hugging Face's Rust implementation (Tokenizers.DotNet) loads it and
/// encodes every text as <see cref="ByteTokenizer"/> does with special tokens (BOS, then one id per UTF-8 byte).
/// </summary>
public sealed class ByteTokenizerJsonTests : IDisposable
{
    private readonly string _dir = TestTemp.Dir("bytejson");

    public ByteTokenizerJsonTests() => ByteTokenizerFiles.WriteInto(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonObject Golden(string name) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenTokenizerFixture.GoldenDir, name, "tokenizer.json")))!;

    private JsonObject Ours() => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "tokenizer.json")))!;

    private static IEnumerable<string> Keys(JsonNode? node) => ((JsonObject)node!).Select(kv => kv.Key).Order();

    [Fact]
    public void Layout_matches_the_golden_tokenizer_json_files()
    {
        var ours = Ours();
        // pythia-410m is the newest serialisation among the golden files (BPE with ignore_merges).
        var pythia = Golden("pythia-410m");
        Assert.Equal(pythia.Select(kv => kv.Key), ours.Select(kv => kv.Key)); // same keys, same order
        Assert.Equal(Keys(pythia["model"]), Keys(ours["model"]));
        foreach (var token in ours["added_tokens"]!.AsArray())
            Assert.Equal(Keys(pythia["added_tokens"]![0]), Keys(token));
        Assert.Equal(Keys(pythia["pre_tokenizer"]), Keys(ours["pre_tokenizer"]));
        Assert.Equal(Keys(Golden("gpt2")["decoder"]), Keys(ours["decoder"]));

        // The post-processor is Mistral's (Llama's) BOS template with our BOS id: the same document but one number.
        var mistral = Golden("mistral-7b-instruct-v0.3")["post_processor"]!.DeepClone();
        mistral["special_tokens"]!["<s>"]!["ids"] = new JsonArray(ByteTokenizer.Bos);
        Assert.True(JsonNode.DeepEquals(mistral, ours["post_processor"]), ours["post_processor"]!.ToJsonString());
    }

    [Fact]
    public void Hugging_faces_rust_tokenizers_encode_and_decode_like_the_byte_tokenizer()
    {
        using var rust = new RustTokenizer(Path.Combine(_dir, "tokenizer.json"));
        var ours = AutoTokenizer.FromFolder(_dir);
        var bytes = new ByteTokenizer();
        const string pool = "aZ éü ß 09 \t\n\r  .,!?<>[]{}|/\\ 日本語 Русский عربي 😃👍🏽 \u200b e\u0301 𝐀 \u007f";
        var runes = pool.EnumerateRunes().ToArray();
        var rng = new Random(20261202);
        var texts = new List<string> { "", "review: the film was", "<|user|>\nHi\n<|assistant|>\n", "  two  spaces" };
        for (int i = 0; i < 300; i++)
        {
            var sb = new StringBuilder();
            for (int k = rng.Next(0, 60); k > 0; k--) sb.Append(runes[rng.Next(runes.Length)].ToString());
            texts.Add(sb.ToString());
        }
        foreach (var text in texts)
        {
            // Tokenizers.DotNet encodes with the post-processor (add_special_tokens=True) and decodes skipping specials.
            var expected = bytes.Encode(text, addSpecialTokens: true);
            var hf = rust.Encode(text).Select(id => (int)id).ToArray();
            Assert.True(expected.SequenceEqual(hf),
                $"ids differ for {System.Text.Json.JsonSerializer.Serialize(text)}: hf [{string.Join(",", hf)}]");
            Assert.Equal(expected, ours.Encode(text, addSpecialTokens: true));
            Assert.Equal(text, rust.Decode(hf.Select(id => (uint)id).ToArray()));
            Assert.Equal(text, ours.Decode(hf, skipSpecialTokens: true));
        }
    }
}
