using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Tokenization.Hf;

namespace AlignSharp.Tokenization;

/// <summary>
/// Writes the <see cref="ByteTokenizer"/> as Hugging Face tokenizer files, so a model trained with it is a folder that
/// <c>transformers.AutoTokenizer.from_pretrained</c> (and <see cref="AutoTokenizer.FromFolder"/>) loads: a byte-level
/// BPE with no merges whose vocabulary maps byte <c>b</c> (as its byte-level character) to id <c>b</c>, then the
/// special tokens &lt;s&gt; (256), &lt;/s&gt; (257), &lt;pad&gt; (258). No regex split, so every byte is one token, as
/// in <see cref="ByteTokenizer.Encode"/>; a TemplateProcessing post-processor that prepends &lt;s&gt;, so encoding with
/// special tokens (<c>tokenizer(text)</c> in transformers, <c>Encode(text, addSpecialTokens: true)</c> here) gives
/// BOS + bytes, as <see cref="ByteTokenizer"/> does and as training saw its prompts. One difference remains: the
/// special tokens' texts are matched in the text by Hugging Face's added-token splitting, so a literal "&lt;s&gt;"
/// encodes as id 256 from tokenizer.json where <see cref="ByteTokenizer"/> encodes its three bytes.
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
            ["normalizer"] = null, ["pre_tokenizer"] = ByteLevel(), ["post_processor"] = BosTemplate(),
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
    }

    /// <summary>TemplateProcessing as Llama's tokenizer.json writes it: single "&lt;s&gt; $A", pair "&lt;s&gt; $A &lt;s&gt; $B".</summary>
    private static JsonObject BosTemplate()
    {
        const string bos = "<s>";
        static JsonObject Special(int typeId) =>
            new() { ["SpecialToken"] = new JsonObject { ["id"] = bos, ["type_id"] = typeId } };
        static JsonObject Sequence(string id, int typeId) =>
            new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(Special(0), Sequence("A", 0)),
            ["pair"] = new JsonArray(Special(0), Sequence("A", 0), Special(1), Sequence("B", 1)),
            ["special_tokens"] = new JsonObject
            {
                [bos] = new JsonObject
                {
                    ["id"] = bos, ["ids"] = new JsonArray(ByteTokenizer.Bos), ["tokens"] = new JsonArray(bos),
                },
            },
        };
    }
}
