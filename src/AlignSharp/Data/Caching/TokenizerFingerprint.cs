using System.Security.Cryptography;
using System.Text;
using AlignSharp.Tokenization;

namespace AlignSharp.Data.Caching;

/// <summary>
/// Identifies a tokenizer for cache keys by behaviour: its type, vocabulary size, special ids and the ids it gives a
/// probe text mixing ASCII, accents, CJK, emoji, whitespace runs and HH/chat markers. Two tokenizers that agree on all
/// of these are treated as the same; pass an explicit identity (e.g. the tokenizer.json hash) to be stricter.
/// </summary>
public static class TokenizerFingerprint
{
    private const string Probe = "Hello, world! \n\nHuman: naïve café 你好 🙂 <|endoftext|> <s></s> <|user|>\n  tabs\tand   spaces 12345\n\nAssistant:";

    /// <summary>A hex digest of the tokenizer's identity.</summary>
    public static string Of(ITokenizer tokenizer)
    {
        var text = $"{tokenizer.GetType().FullName}|{tokenizer.VocabSize}|{tokenizer.BosId}|{tokenizer.EosId}|{tokenizer.PadId}|{string.Join(',', tokenizer.Encode(Probe))}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
