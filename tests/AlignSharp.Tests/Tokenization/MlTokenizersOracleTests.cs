using System.Text.Json;
using System.Text.RegularExpressions;
using AlignSharp.Tokenization;
using Microsoft.ML.Tokenizers;

namespace AlignSharp.Tests.Tokenization;

/// <summary>
/// Cross-checks HfTokenizer's own BPE against Microsoft.ML.Tokenizers' BpeTokenizer (byte-level mode, GPT-2 split
/// regex) on text beyond the golden cases: both must give the same ids for every byte-level tokenizer without a
/// normaliser or digit splitting (GPT-2 here).
/// </summary>
public sealed class MlTokenizersOracleTests(GoldenTokenizerFixture fixture) : IClassFixture<GoldenTokenizerFixture>
{
    internal static string SampleText()
    {
        // A few KB mixing prose, code, numbers, whitespace runs and non-Latin scripts.
        string[] parts =
        [
            "Direct Preference Optimization fine-tunes a policy on pairs of chosen and rejected completions. ",
            "def loss(beta, pi_c, pi_r, ref_c, ref_r):\n    return -F.logsigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))\n\n",
            "Version 3.14.159 was released on 2024-06-30 at 12:45; it's 1,234,567 bytes (IT'S BIG).\t\tTabs\r\nCRLF   spaces   ",
            "Größe, café, naïve — “quotes” … Здравствуйте, мир! 你好，世界。こんにちは世界。안녕하세요 😃👍🏽 ",
            "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}   <tag attr='v'>x</tag>\n",
        ];
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 12; i++)
            foreach (var p in parts) sb.Append(p).Append(i);
        return sb.ToString();
    }

    [Fact]
    public void Gpt2_ids_match_microsoft_ml_tokenizers_bpe()
    {
        string path = Path.Combine(GoldenTokenizerFixture.GoldenDir, "gpt2", "tokenizer.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var model = doc.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList();
        var gpt2Split = new Regex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");
        var oracle = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(gpt2Split, null),
        });

        string text = SampleText();
        Assert.True(text.Length > 4000);
        var expected = oracle.EncodeToIds(text);
        var actual = fixture.Tokenizer("gpt2").Encode(text);
        Assert.Equal(expected, actual);
        Assert.Equal(text, fixture.Tokenizer("gpt2").Decode(actual));
    }
}
