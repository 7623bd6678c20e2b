using System.Globalization;
using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>Python's <c>repr()</c> of runtime values (what Jinja prints for lists, dicts, None, booleans and floats).</summary>
internal static class PyRepr
{
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        Write(sb, v);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(PyOps.FormatInt(l)); break;
            case System.Numerics.BigInteger b: sb.Append(PyOps.FormatInt(b)); break;
            case double d: sb.Append(FloatRepr(d)); break;
            case string s: WriteString(sb, s); break;
            case Markup m:
                sb.Append("Markup(");
                WriteString(sb, m.Value);
                sb.Append(')');
                break;
            case List<object?> list:
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, list[i]);
                }
                sb.Append(']');
                break;
            case PyTuple t:
                sb.Append('(');
                for (var i = 0; i < t.Items.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, t.Items[i]);
                }
                if (t.Items.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case PyDict d:
                sb.Append('{');
                var first = true;
                foreach (var (k, val) in d)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Write(sb, k);
                    sb.Append(": ");
                    Write(sb, val);
                }
                sb.Append('}');
                break;
            case PyDictView view:
                sb.Append("dict_").Append(view.Kind).Append('(');
                Write(sb, view.Items);
                sb.Append(')');
                break;
            case PyIterator it: sb.Append('<').Append(it.TypeName).Append(" object at 0x7f0000000000>"); break;
            case Undefined: sb.Append("Undefined"); break;
            case Namespace ns:
                sb.Append("<Namespace {");
                sb.Append(string.Join(", ", ns.Attributes.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))));
                sb.Append("}>");
                break;
            case LoopContext loop: sb.Append($"<LoopContext {loop.Index}/{loop.Length}>"); break;
            case BuiltinCallable c: sb.Append($"<built-in function {c.Name}>"); break;
            case Macro m: sb.Append($"<Macro '{m.Name}'>"); break;
            default: sb.Append(v.ToString()); break;
        }
    }

    /// <summary>Python's string repr: single quotes unless the text holds ' and no ", escapes for non-printables.</summary>
    private static void WriteString(StringBuilder sb, string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (var rune in s.EnumerateRunes())
        {
            var c = rune.Value;
            if (c == quote || c == '\\') sb.Append('\\').Append((char)c);
            else if (c == '\t') sb.Append("\\t");
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(c.ToString("x2", CultureInfo.InvariantCulture));
            else if (c < 0x7f) sb.Append((char)c);
            else if (!IsPrintable(rune))
            {
                if (c <= 0xff) sb.Append("\\x").Append(c.ToString("x2", CultureInfo.InvariantCulture));
                else if (c <= 0xffff) sb.Append("\\u").Append(c.ToString("x4", CultureInfo.InvariantCulture));
                else sb.Append("\\U").Append(c.ToString("x8", CultureInfo.InvariantCulture));
            }
            else sb.Append(rune.ToString());
        }
        sb.Append(quote);
    }

    /// <summary>Python's <c>str.isprintable</c> for one character: not Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs other than space.</summary>
    private static bool IsPrintable(Rune r) => Rune.GetUnicodeCategory(r) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => false,
        UnicodeCategory.SpaceSeparator => r.Value == ' ',
        _ => true,
    };

    /// <summary>Python's <c>float.__repr__</c>: shortest round-trip digits, exponent form outside 1e-4 &lt;= |x| &lt; 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // "E16" is not shortest; "R" is. Parse the shortest form into digits and a decimal exponent.
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = r.StartsWith('-');
        if (negative) r = r[1..];
        var exp = 0;
        var ePos = r.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exp = int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ePos];
        }
        var dot = r.IndexOf('.');
        var intPart = dot >= 0 ? r[..dot] : r;
        var fracPart = dot >= 0 ? r[(dot + 1)..] : "";
        var digits = (intPart + fracPart).TrimStart('0');
        var leadingZeros = (intPart + fracPart).Length - digits.Length;
        // decimal point position relative to the start of `digits`
        var decpt = intPart.Length + exp - leadingZeros;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        string body;
        if (decpt > 16 || decpt < -3)
        {
            var mantissa = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
            var e = decpt - 1;
            body = mantissa + "e" + (e < 0 ? "-" : "+") + Math.Abs(e).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (decpt <= 0) body = "0." + new string('0', -decpt) + digits;
        else if (decpt >= digits.Length) body = digits + new string('0', decpt - digits.Length) + ".0";
        else body = digits[..decpt] + "." + digits[decpt..];
        return negative ? "-" + body : body;
    }
}
