using System.Text.RegularExpressions;
using AlignSharp.Tokenization.Normalization;

namespace AlignSharp.Tokenization.Hf;

/// <summary>A <c>tokenizer.json</c> normaliser: rewrites one piece of text (added tokens are never passed through it).</summary>
internal abstract class TextNormalizer
{
    public abstract string Normalize(string text);
}

internal sealed class NfcNormalizer : TextNormalizer
{
    public override string Normalize(string text) => UnicodeNormalizer.Nfc(text);
}

internal sealed class NfdNormalizer : TextNormalizer
{
    public override string Normalize(string text) => UnicodeNormalizer.Nfd(text);
}

internal sealed class LowercaseNormalizer : TextNormalizer
{
    public override string Normalize(string text) => text.ToLowerInvariant();
}

/// <summary>Prepends a string to every non-empty piece (Llama 2's <c>Prepend("▁")</c>).</summary>
internal sealed class PrependNormalizer(string prefix) : TextNormalizer
{
    public override string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

/// <summary>Replaces a literal string or a regex with <c>content</c>.</summary>
internal sealed class ReplaceNormalizer(string? literal, Regex? regex, string content) : TextNormalizer
{
    public override string Normalize(string text) =>
        literal is not null ? text.Replace(literal, content, StringComparison.Ordinal) : regex!.Replace(text, content);
}

internal sealed class SequenceNormalizer(IReadOnlyList<TextNormalizer> steps) : TextNormalizer
{
    public override string Normalize(string text)
    {
        foreach (var step in steps) text = step.Normalize(text);
        return text;
    }
}
