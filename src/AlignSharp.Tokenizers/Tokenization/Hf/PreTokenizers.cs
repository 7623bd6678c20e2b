using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// A piece of text on its way to the model. <see cref="AtStart"/> is true only for the piece that begins at
/// offset 0 of the original text (Metaspace's <c>prepend_scheme: "first"</c> depends on it).
/// </summary>
internal readonly record struct Piece(string Text, bool AtStart);

/// <summary>A <c>tokenizer.json</c> pre-tokenizer: splits (and may rewrite) each piece into smaller pieces.</summary>
internal abstract class PreTokenizerStep
{
    public abstract void Split(Piece piece, List<Piece> output);

    /// <summary>Adds the given spans and the gaps between them as pieces (Hugging Face's "Isolated" behaviour; "Removed" drops the spans).</summary>
    protected static void SplitIsolated(Piece piece, List<(int Start, int Length)> spans, List<Piece> output, bool removeMatches = false)
    {
        string text = piece.Text;
        int last = 0;
        foreach (var (start, length) in spans)
        {
            if (start > last) output.Add(new Piece(text[last..start], piece.AtStart && last == 0));
            if (!removeMatches) output.Add(new Piece(start == 0 && length == text.Length ? text : text.Substring(start, length), piece.AtStart && start == 0));
            last = start + length;
        }
        if (last < text.Length) output.Add(new Piece(last == 0 ? text : text[last..], piece.AtStart && last == 0));
    }

    protected static void SplitIsolated(CodePointRegex regex, Piece piece, List<Piece> output, bool removeMatches = false)
    {
        var spans = new List<(int, int)>();
        regex.Matches(piece.Text, spans);
        SplitIsolated(piece, spans, output, removeMatches);
    }
}

/// <summary>Applies its steps in order, each to every piece the previous step produced.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<PreTokenizerStep> steps) : PreTokenizerStep
{
    public override void Split(Piece piece, List<Piece> output)
    {
        var current = new List<Piece> { piece };
        var next = new List<Piece>();
        foreach (var step in steps)
        {
            next.Clear();
            foreach (var p in current) step.Split(p, next);
            (current, next) = (next, current);
        }
        output.AddRange(current);
    }
}

/// <summary>
/// Byte-level pre-tokenizer: optional prefix space, optional GPT-2 regex split, then every UTF-8 byte mapped
/// through <see cref="ByteLevelAlphabet"/>.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizerStep
{
    /// <summary>The GPT-2 split pattern Hugging Face's ByteLevel pre-tokenizer uses.</summary>
    private static readonly CodePointRegex Gpt2Pattern = new(new Regex(
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        RegexOptions.Compiled | RegexOptions.CultureInvariant));

    public override void Split(Piece piece, List<Piece> output)
    {
        if (addPrefixSpace && !piece.Text.StartsWith(' ')) piece = piece with { Text = " " + piece.Text };
        if (!useRegex)
        {
            output.Add(piece with { Text = MapBytes(piece.Text) });
            return;
        }
        int start = output.Count;
        SplitIsolated(Gpt2Pattern, piece, output);
        for (int i = start; i < output.Count; i++) output[i] = output[i] with { Text = MapBytes(output[i].Text) };
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/> as byte-level characters.</summary>
    public static string MapBytes(string text)
    {
        if (!System.Text.Ascii.IsValid(text))
            return MapUtf8(text);
        return string.Create(text.Length, text, static (chars, t) =>
        {
            for (int i = 0; i < t.Length; i++) chars[i] = ByteLevelAlphabet.ByteToChar[t[i]];
        });
    }

    private static string MapUtf8(string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> bytes = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(text, bytes);
        return string.Create(n, bytes[..n].ToArray(), static (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++) chars[i] = ByteLevelAlphabet.ByteToChar[b[i]];
        });
    }
}

/// <summary>
/// Hugging Face <c>Digits</c>: numeric characters (Rust's <c>char::is_numeric</c>: categories Nd, Nl, No, so also
/// Arabic-Indic digits, Roman numerals and superscripts) split off, one piece per character or per run.
/// </summary>
internal sealed class DigitsPreTokenizer(bool individualDigits) : PreTokenizerStep
{
    public override void Split(Piece piece, List<Piece> output)
    {
        string text = piece.Text;
        var spans = new List<(int Start, int Length)>();
        for (int i = 0; i < text.Length;)
        {
            // A lone surrogate (invalid UTF-16) is not a number; step over it.
            bool valid = Rune.TryGetRuneAt(text, i, out var rune);
            int len = valid ? rune.Utf16SequenceLength : 1;
            if (valid && Rune.IsNumber(rune))
            {
                if (!individualDigits && spans.Count > 0 && spans[^1].Start + spans[^1].Length == i)
                    spans[^1] = (spans[^1].Start, spans[^1].Length + len);
                else spans.Add((i, len));
            }
            i += len;
        }
        SplitIsolated(piece, spans, output);
    }
}

/// <summary>Hugging Face <c>Split</c> with a regex or literal pattern (Llama 3, Qwen2); behaviours Isolated and Removed.</summary>
internal sealed class RegexSplitPreTokenizer(CodePointRegex pattern, bool remove) : PreTokenizerStep
{
    public override void Split(Piece piece, List<Piece> output) => SplitIsolated(pattern, piece, output, remove);
}

/// <summary>
/// SentencePiece-style Metaspace: spaces become <c>▁</c>; a <c>▁</c> is prepended always, never, or (scheme
/// "first") only to the piece at offset 0 of the original text that does not already start with one.
/// With <c>split</c>, the piece is cut before every <c>▁</c>.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, MetaspacePrepend prepend, bool split) : PreTokenizerStep
{
    public override void Split(Piece piece, List<Piece> output)
    {
        string text = piece.Text.Replace(' ', replacement);
        bool add = prepend switch
        {
            MetaspacePrepend.Always => !text.StartsWith(replacement),
            MetaspacePrepend.First => piece.AtStart && !text.StartsWith(replacement),
            _ => false,
        };
        if (add) text = replacement + text;
        if (!split)
        {
            output.Add(piece with { Text = text });
            return;
        }
        int start = 0;
        for (int i = 1; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != replacement) continue;
            output.Add(new Piece(text[start..i], piece.AtStart && start == 0));
            start = i;
        }
    }
}

/// <summary>When Metaspace prepends its replacement character.</summary>
internal enum MetaspacePrepend { Never, First, Always }
