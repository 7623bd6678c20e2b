using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// A <c>tokenizer.json</c> decoder: rewrites the list of token strings (Hugging Face's <c>decode_chain</c>);
/// the results are concatenated at the end.
/// </summary>
internal abstract class TokenDecoder
{
    public abstract List<string> Decode(List<string> tokens);
}

internal sealed class SequenceDecoder(IReadOnlyList<TokenDecoder> steps) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        foreach (var step in steps) tokens = step.Decode(tokens);
        return tokens;
    }
}

/// <summary>
/// Byte-level decoding: each token's characters back to bytes through <see cref="ByteLevelAlphabet"/> (a token
/// with a character outside the alphabet, such as an added token made of real spaces, contributes its own
/// UTF-8 bytes), then all bytes as UTF-8 with invalid sequences replaced by U+FFFD.
/// </summary>
internal sealed class ByteLevelDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            bool mapped = true;
            foreach (char c in token) mapped &= c < 512 && ByteLevelAlphabet.CharToByte[c] >= 0;
            if (mapped)
                foreach (char c in token) bytes.Add((byte)ByteLevelAlphabet.CharToByte[c]);
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
        }
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

/// <summary>Metaspace decoding: <c>▁</c> back to space; the first token loses one leading space unless the scheme is "never".</summary>
internal sealed class MetaspaceDecoder(char replacement, bool stripFirst) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i].Replace(replacement, ' ');
            if (i == 0 && stripFirst && t.StartsWith(' ')) t = t[1..];
            result.Add(t);
        }
        return result;
    }
}

/// <summary>Replaces a literal or regex pattern in every token.</summary>
internal sealed class ReplaceDecoder(string? literal, Regex? regex, string content) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) =>
        tokens.ConvertAll(t => literal is not null ? t.Replace(literal, content, StringComparison.Ordinal) : regex!.Replace(t, content));
}

/// <summary>
/// Byte fallback: runs of <c>&lt;0xNN&gt;</c> tokens become the UTF-8 text they encode; a run that is not valid
/// UTF-8 becomes one U+FFFD per byte, as Hugging Face does.
/// </summary>
internal sealed class ByteFallbackDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (var token in tokens)
        {
            if (TryParseByte(token, out byte b))
            {
                pending.Add(b);
                continue;
            }
            Flush(pending, result);
            result.Add(token);
        }
        Flush(pending, result);
        return result;
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static void Flush(List<byte> pending, List<string> result)
    {
        if (pending.Count == 0) return;
        try
        {
            result.Add(Strict.GetString(pending.ToArray()));
        }
        catch (DecoderFallbackException)
        {
            for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD");
        }
        pending.Clear();
    }

    private static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }
}

/// <summary>Joins all tokens into one.</summary>
internal sealed class FuseDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Removes up to <c>start</c> leading and <c>stop</c> trailing occurrences of one character from every token.</summary>
internal sealed class StripDecoder(char content, int start, int stop) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => tokens.ConvertAll(t =>
    {
        int from = 0, to = t.Length;
        while (from < start && from < to && t[from] == content) from++;
        while (t.Length - to < stop && to > from && t[to - 1] == content) to--;
        return t[from..to];
    });
}
