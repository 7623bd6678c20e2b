using System.Globalization;
using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>The Python <c>str</c> methods templates call (<c>content.strip()</c>, <c>.split(sep)</c>, <c>.startswith(x)</c>...).</summary>
internal static class StringMethods
{
    /// <summary>Python's <c>str.isspace</c> for one UTF-16 unit (includes U+001C..U+001F, which .NET does not).</summary>
    public static bool IsPySpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    public static string Strip(string s, object? chars, bool left = true, bool right = true)
    {
        Func<char, bool> drop = chars switch
        {
            null or Undefined => IsPySpace,
            string set => set.Contains,
            _ => throw new TemplateRuntimeError($"TypeError: strip arg must be None or str, not {PyOps.TypeName(chars)}"),
        };
        int start = 0, end = s.Length;
        if (left) while (start < end && drop(s[start])) start++;
        if (right) while (end > start && drop(s[end - 1])) end--;
        return s[start..end];
    }

    public static List<object?> Split(string s, object? sep, long maxSplit)
    {
        var parts = new List<object?>();
        if (sep is null or Undefined)
        {
            var i = 0;
            while (true)
            {
                while (i < s.Length && IsPySpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && parts.Count == maxSplit)
                {
                    parts.Add(Strip(s[i..], null, left: false));
                    break;
                }
                var j = i;
                while (j < s.Length && !IsPySpace(s[j])) j++;
                parts.Add(s[i..j]);
                i = j;
            }
            return parts;
        }
        if (sep is not string separator) throw new TemplateRuntimeError($"TypeError: must be str or None, not {PyOps.TypeName(sep)}");
        if (separator.Length == 0) throw new TemplateRuntimeError("ValueError: empty separator");
        var pos = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            var k = s.IndexOf(separator, pos, StringComparison.Ordinal);
            if (k < 0) break;
            parts.Add(s[pos..k]);
            pos = k + separator.Length;
        }
        parts.Add(s[pos..]);
        return parts;
    }

    /// <summary>Python's <c>str.title()</c>: a cased character after an uncased one is upper-cased, the others lower-cased.</summary>
    public static string PyTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        var previousCased = false;
        foreach (var c in s)
        {
            sb.Append(previousCased ? Lower(c.ToString()) : Upper(c.ToString()));
            previousCased = char.IsUpper(c) || char.IsLower(c);
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : Upper(s[..1]) + Lower(s[1..]);

    /// <summary>Python's <c>str.upper()</c>: invariant upper-casing plus the full mappings that change length (ß -> SS, ligatures).</summary>
    public static string Upper(string s)
    {
        var upper = s.ToUpperInvariant();
        if (!upper.AsSpan().ContainsAny("ß\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06")) return upper;
        return upper.Replace("ß", "SS", StringComparison.Ordinal).Replace("\ufb00", "FF", StringComparison.Ordinal)
            .Replace("\ufb01", "FI", StringComparison.Ordinal).Replace("\ufb02", "FL", StringComparison.Ordinal)
            .Replace("\ufb03", "FFI", StringComparison.Ordinal).Replace("\ufb04", "FFL", StringComparison.Ordinal)
            .Replace("\ufb05", "ST", StringComparison.Ordinal).Replace("\ufb06", "ST", StringComparison.Ordinal);
    }

    /// <summary>Python's <c>str.lower()</c>: invariant lower-casing plus İ -> i̇.</summary>
    public static string Lower(string s) => s.Replace("\u0130", "i\u0307", StringComparison.Ordinal).ToLowerInvariant();

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, replacement) : s.Replace(old, replacement, StringComparison.Ordinal);
        var sb = new StringBuilder();
        var pos = 0;
        for (var n = 0; n < count; n++)
        {
            var k = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (k < 0 || old.Length == 0) break;
            sb.Append(s, pos, k - pos).Append(replacement);
            pos = k + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    private static string InsertEverywhere(string s, string r) =>
        r + string.Concat(s.EnumerateRunes().Select(x => x.ToString() + r));

    private static string ArgStr(IReadOnlyList<object?> a, int i, string method) =>
        a.Count > i && a[i] is string s ? s : throw new TemplateRuntimeError($"TypeError: {method}() argument {i + 1} must be str");

    private static bool AffixMatch(string s, object? affix, bool prefix, string method)
    {
        IEnumerable<object?> options = affix is PyTuple t ? t.Items : [affix];
        return options.Any(o => o is string x
            ? (prefix ? s.StartsWith(x, StringComparison.Ordinal) : s.EndsWith(x, StringComparison.Ordinal))
            : throw new TemplateRuntimeError($"TypeError: {method} first arg must be str or a tuple of str, not {PyOps.TypeName(o)}"));
    }

    private static bool AllRunes(string s, Func<Rune, bool> test) => s.Length > 0 && s.EnumerateRunes().All(test);

    /// <summary>The bound method <paramref name="name"/> of <paramref name="s"/>, or null when str has no such method.</summary>
    public static BuiltinCallable? Get(string s, string name)
    {
        Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, object?>? body = name switch
        {
            "strip" => (a, _) => Strip(s, a.FirstOrDefault()),
            "lstrip" => (a, _) => Strip(s, a.FirstOrDefault(), right: false),
            "rstrip" => (a, _) => Strip(s, a.FirstOrDefault(), left: false),
            "upper" => (_, _) => Upper(s),
            "lower" => (_, _) => Lower(s),
            "casefold" => (_, _) => Lower(s),
            "title" => (_, _) => PyTitle(s),
            "capitalize" => (_, _) => Capitalize(s),
            "startswith" => (a, _) => AffixMatch(s, a.FirstOrDefault(), prefix: true, "startswith"),
            "endswith" => (a, _) => AffixMatch(s, a.FirstOrDefault(), prefix: false, "endswith"),
            "split" => (a, kw) => Split(s, a.Count > 0 ? a[0] : kw.GetValueOrDefault("sep"),
                a.Count > 1 ? PyOps.ToLong(a[1]) : kw.TryGetValue("maxsplit", out var m) ? PyOps.ToLong(m) : -1),
            "splitlines" => (_, _) => SplitLines(s),
            "replace" => (a, _) => Replace(s, ArgStr(a, 0, "replace"), ArgStr(a, 1, "replace"), a.Count > 2 ? PyOps.ToLong(a[2]) : -1),
            "join" => (a, _) => string.Join(s, PyOps.Iterate(a.FirstOrDefault()).Select(x => x as string
                ?? throw new TemplateRuntimeError($"TypeError: sequence item: expected str instance, {PyOps.TypeName(x)} found"))),
            "find" => (a, _) => (long)s.IndexOf(ArgStr(a, 0, "find"), StringComparison.Ordinal),
            "rfind" => (a, _) => (long)s.LastIndexOf(ArgStr(a, 0, "rfind"), StringComparison.Ordinal),
            "count" => (a, _) => (long)CountOccurrences(s, ArgStr(a, 0, "count")),
            "isdigit" => (_, _) => AllRunes(s, r => Rune.GetUnicodeCategory(r) == UnicodeCategory.DecimalDigitNumber),
            "isnumeric" => (_, _) => AllRunes(s, Rune.IsNumber),
            "isalpha" => (_, _) => AllRunes(s, Rune.IsLetter),
            "isalnum" => (_, _) => AllRunes(s, Rune.IsLetterOrDigit),
            "isspace" => (_, _) => s.Length > 0 && s.All(IsPySpace),
            "islower" => (_, _) => s.Any(char.IsLower) && !s.Any(char.IsUpper),
            "isupper" => (_, _) => s.Any(char.IsUpper) && !s.Any(char.IsLower),
            "format" => (a, kw) => PyFormat.Format(s, a, kw),
            _ => null,
        };
        return body is null ? null : new BuiltinCallable(name, body);
    }

    /// <summary>Python's <c>str.splitlines()</c>: splits on any line boundary, no trailing empty line.</summary>
    private static List<object?> SplitLines(string s)
    {
        var lines = new List<object?>();
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is not ('\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')) continue;
            lines.Add(s[start..i]);
            if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') i++;
            start = i + 1;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    private static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return PyOps.CodePointCount(s) + 1;
        var n = 0;
        for (var k = s.IndexOf(sub, StringComparison.Ordinal); k >= 0; k = s.IndexOf(sub, k + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
