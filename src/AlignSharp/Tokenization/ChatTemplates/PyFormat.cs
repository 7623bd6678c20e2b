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

    /// <summary>printf-style <c>"%s %d" % args</c> for %s, %r, %d, %i, %f (with precision) and %%.</summary>
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
            var precision = -1;
            if (template[i] == '.')
            {
                var start = ++i;
                while (i < template.Length && char.IsAsciiDigit(template[i])) i++;
                precision = int.Parse(template.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            }
            if (i >= template.Length) throw new TemplateRuntimeError("ValueError: incomplete format");
            if (next >= args.Count) throw new TemplateRuntimeError("TypeError: not enough arguments for format string");
            var value = args[next++];
            sb.Append(template[i] switch
            {
                's' => PyOps.Str(value),
                'r' => PyRepr.Repr(value),
                'd' or 'i' => PyOps.FormatInt(PyOps.ToLong(value)),
                'f' => PyOps.ToDouble(value).ToString("F" + (precision < 0 ? 6 : precision), CultureInfo.InvariantCulture),
                var other => throw new TemplateRuntimeError($"unsupported construct: printf conversion '%{other}'"),
            });
        }
        if (next < args.Count) throw new TemplateRuntimeError("TypeError: not all arguments converted during string formatting");
        return sb.ToString();
    }
}
