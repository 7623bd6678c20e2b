using System.Globalization;
using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>Python's <c>str.format</c> (fields <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>!r</c>/<c>!s</c>) and printf-style <c>%</c> formatting for the <c>format</c> filter.</summary>
internal static class PyFormat
{
    public static string Format(string template, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var sb = new StringBuilder();
        var auto = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '}' )
            {
                if (i + 1 < template.Length && template[i + 1] == '}') { sb.Append('}'); i++; continue; }
                throw new TemplateRuntimeError("ValueError: Single '}' encountered in format string");
            }
            if (c != '{') { sb.Append(c); continue; }
            if (i + 1 < template.Length && template[i + 1] == '{') { sb.Append('{'); i++; continue; }
            var close = template.IndexOf('}', i);
            if (close < 0) throw new TemplateRuntimeError("ValueError: Single '{' encountered in format string");
            var field = template[(i + 1)..close];
            i = close;
            var conversion = 's';
            var bang = field.IndexOf('!');
            if (bang >= 0)
            {
                conversion = field.Length > bang + 1 ? field[bang + 1] : 's';
                field = field[..bang];
            }
            if (field.Contains(':')) throw new TemplateRuntimeError($"unsupported construct: format spec in '{{{field}}}' (str.format with ':' specs)");
            object? value;
            if (field.Length == 0) value = auto < args.Count ? args[auto++] : throw new TemplateRuntimeError("IndexError: Replacement index out of range for positional args tuple");
            else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var idx))
                value = idx < args.Count ? args[idx] : throw new TemplateRuntimeError($"IndexError: Replacement index {idx} out of range for positional args tuple");
            else value = kwargs.TryGetValue(field, out var kv) ? kv : throw new TemplateRuntimeError($"KeyError: '{field}'");
            sb.Append(conversion == 'r' ? PyRepr.Repr(value) : PyOps.Str(value));
        }
        return sb.ToString();
    }

    /// <summary>printf-style <c>"%s %d" % args</c>: conversions s, r, d, i, f, x, X with flags '-', '0', '+', ' ', a width and a precision.</summary>
    public static string Printf(string template, IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        var next = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= template.Length) throw new TemplateRuntimeError("ValueError: incomplete format");
            if (template[i] == '%') { sb.Append('%'); continue; }
            var flags = "";
            while (i < template.Length && template[i] is '-' or '0' or '+' or ' ' or '#') flags += template[i++];
            var width = ReadNumber(template, ref i);
            var precision = -1;
            if (i < template.Length && template[i] == '.')
            {
                i++;
                precision = Math.Max(0, ReadNumber(template, ref i));
            }
            if (i >= template.Length) throw new TemplateRuntimeError("ValueError: incomplete format");
            if (next >= args.Count) throw new TemplateRuntimeError("TypeError: not enough arguments for format string");
            var value = args[next++];
            var conv = template[i];
            var numeric = conv is 'd' or 'i' or 'f' or 'x' or 'X';
            var body = conv switch
            {
                's' => PyOps.Str(value),
                'r' => PyRepr.Repr(value),
                'd' or 'i' => PyOps.FormatInt(PyOps.ToLong(value)),
                'f' or 'F' => PyOps.ToDouble(value).ToString("F" + (precision < 0 ? 6 : precision), CultureInfo.InvariantCulture),
                'x' => PyOps.ToLong(value).ToString("x", CultureInfo.InvariantCulture),
                'X' => PyOps.ToLong(value).ToString("X", CultureInfo.InvariantCulture),
                _ => throw new TemplateRuntimeError($"unsupported construct: printf conversion '%{conv}'"),
            };
            if (conv is 's' or 'r' && precision >= 0 && body.Length > precision) body = body[..precision];
            if (numeric && !body.StartsWith('-') && flags.Contains('+')) body = "+" + body;
            else if (numeric && !body.StartsWith('-') && flags.Contains(' ')) body = " " + body;
            if (body.Length < width)
            {
                if (flags.Contains('-')) body = body.PadRight(width);
                else if (numeric && flags.Contains('0'))
                {
                    var sign = body.Length > 0 && body[0] is '-' or '+' or ' ' ? body[..1] : "";
                    body = sign + body[sign.Length..].PadLeft(width - sign.Length, '0');
                }
                else body = body.PadLeft(width);
            }
            sb.Append(body);
        }
        if (next < args.Count) throw new TemplateRuntimeError("TypeError: not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static int ReadNumber(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return i > start ? int.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture) : 0;
    }
}
