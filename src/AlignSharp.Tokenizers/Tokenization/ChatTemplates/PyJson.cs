using System.Globalization;
using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// Python's <c>json.dumps(x, ensure_ascii, indent, separators, sort_keys)</c>, which Hugging Face installs as the
/// <c>tojson</c> filter (no HTML escaping, keys in insertion order, ", " and ": " separators; "," with an indent).
/// </summary>
internal static class PyJson
{
    public static string Dumps(object? value, bool ensureAscii = false, string? indent = null, (string Item, string Key)? separators = null, bool sortKeys = false)
    {
        var seps = separators ?? (indent is null ? (", ", ": ") : (",", ": "));
        var sb = new StringBuilder();
        Write(sb, value, ensureAscii, indent, seps, sortKeys, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? v, bool ascii, string? indent, (string Item, string Key) seps, bool sort, int level)
    {
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(PyOps.FormatInt(l)); break;
            case System.Numerics.BigInteger b: sb.Append(PyOps.FormatInt(b)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyRepr.FloatRepr(d));
                break;
            case string s: WriteString(sb, s, ascii); break;
            case Markup m: WriteString(sb, m.Value, ascii); break;
            case List<object?> or PyTuple:
                var items = v is PyTuple t ? t.Items : (List<object?>)v;
                if (items.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (var i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(seps.Item);
                    NewLine(sb, indent, level + 1);
                    Write(sb, items[i], ascii, indent, seps, sort, level + 1);
                }
                NewLine(sb, indent, level);
                sb.Append(']');
                break;
            case PyDict dict:
                if (dict.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                IEnumerable<KeyValuePair<object, object?>> pairs = dict;
                if (sort) pairs = pairs.OrderBy(kv => KeyString(kv.Key), Comparer<string>.Create(PyOps.CompareCodePoints));
                var first = true;
                foreach (var (k, val) in pairs)
                {
                    if (!first) sb.Append(seps.Item);
                    first = false;
                    NewLine(sb, indent, level + 1);
                    WriteString(sb, KeyString(k), ascii);
                    sb.Append(seps.Key);
                    Write(sb, val, ascii, indent, seps, sort, level + 1);
                }
                NewLine(sb, indent, level);
                sb.Append('}');
                break;
            default:
                var typeName = v is Undefined ? "Undefined" : PyOps.TypeName(v);
                throw new TemplateRuntimeError($"TypeError: Object of type {typeName} is not JSON serializable");
        }
    }

    private static string KeyString(object key) => key switch
    {
        string s => s,
        Markup m => m.Value,
        bool b => b ? "true" : "false",
        long l => PyOps.FormatInt(l),
        double d => PyRepr.FloatRepr(d),
        _ => throw new TemplateRuntimeError($"TypeError: keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
    };

    private static void NewLine(StringBuilder sb, string? indent, int level)
    {
        if (indent is null) return;
        sb.Append('\n');
        for (var i = 0; i < level; i++) sb.Append(indent);
    }

    private static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
