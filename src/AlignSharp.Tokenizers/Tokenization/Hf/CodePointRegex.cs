using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// A .NET <see cref="Regex"/> that matches by Unicode scalar, as Hugging Face's Rust regex engines do.
/// .NET regexes see UTF-16 code units, so a character outside the BMP (𝐀, 𠮷, emoji) is two surrogates of category
/// Cs and never matches <c>\p{L}</c> or <c>\p{N}</c>. Text containing surrogates is therefore matched through a
/// shadow string with one BMP stand-in per code point, of the same general category, and the spans mapped back.
/// </summary>
internal sealed class CodePointRegex(Regex regex)
{
    /// <summary>Appends (start, length) of every non-empty match, in UTF-16 offsets of <paramref name="text"/>.</summary>
    public void Matches(string text, List<(int Start, int Length)> output)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in regex.EnumerateMatches(text))
                if (m.Length > 0) output.Add((m.Index, m.Length));
            return;
        }
        // offsets[i] = UTF-16 offset in text of shadow char i; offsets[shadow.Length] = text.Length.
        var shadow = new StringBuilder(text.Length);
        var offsets = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length;)
        {
            offsets.Add(i);
            if (Rune.TryGetRuneAt(text, i, out var rune) && rune.Utf16SequenceLength == 2)
            {
                shadow.Append(StandIn(Rune.GetUnicodeCategory(rune)));
                i += 2;
            }
            else shadow.Append(text[i++]);
        }
        offsets.Add(text.Length);
        foreach (var m in regex.EnumerateMatches(shadow.ToString()))
            if (m.Length > 0) output.Add((offsets[m.Index], offsets[m.Index + m.Length] - offsets[m.Index]));
    }

    /// <summary>A BMP character of the same general category (none of them is ASCII, so pattern literals are unaffected).</summary>
    private static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u0391',
        UnicodeCategory.LowercaseLetter => '\u03B1',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u4E00',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.MathSymbol => '\u00AC',
        UnicodeCategory.CurrencySymbol => '\u20AC',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.OtherSymbol => '\u00A6',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00B7',
        UnicodeCategory.Format => '\u200B',
        UnicodeCategory.PrivateUse => '\uE000',
        _ => '\u0378', // unassigned
    };
}
