using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Tokenization.Hf;

namespace AlignSharp.Tokenization;

/// <summary>
/// Writes the <see cref="ByteTokenizer"/> as Hugging Face tokenizer files, so a model trained with it is a folder that
/// <c>transformers.AutoTokenizer.from_pretrained</c> (and <see cref="AutoTokenizer.FromFolder"/>) loads: a byte-level
/// BPE with no merges whose vocabulary maps byte <c>b</c> (as its byte-level character) to id <c>b</c>, then the
/// special tokens &lt;s&gt; (256), &lt;/s&gt; (257), &lt;pad&gt; (258). No regex split, so every byte is one token, as
/// in <see cref="ByteTokenizer.Encode"/>; no post-processor, so BOS is added by the callers that add it here too.
/// </summary>
public static class ByteTokenizerFiles
{
    private static readonly (int Id, string Content)[] Specials =
        [(ByteTokenizer.Bos, "<s>"), (ByteTokenizer.Eos, "</s>"), (ByteTokenizer.Pad, "<pad>")];

    /// <summary>Writes <c>tokenizer.json</c> and <c>tokenizer_config.json</c> into the existing folder <paramref name="dir"/>.</summary>
    public static void WriteInto(string dir)
    {
        var options = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson().ToJsonString(options) + "\n");
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["pad_token"] = "<pad>",
            ["clean_up_tokenization_spaces"] = false,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString(options) + "\n");
    }

    /// <summary>The tokenizer.json document (format of the Hugging Face <c>tokenizers</c> library, version 1.0).</summary>
    public static JsonObject TokenizerJson()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ByteToChar[b].ToString()] = b;
        var added = new JsonArray();
        foreach (var (id, content) in Specials)
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        static JsonObject ByteLevel() => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false,
        };
        return new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = added,
            ["normalizer"] = null, ["pre_tokenizer"] = ByteLevel(), ["post_processor"] = null, ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
    }
}
