using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// Jinja2's built-in filters that chat templates use, with Jinja2 3.1 semantics, plus Hugging Face's <c>tojson</c>
/// (Python <c>json.dumps</c> with <c>ensure_ascii=False</c>).
/// </summary>
internal static class Filters
{
    private delegate object? Filter(object? value, FilterArgs args);

    private static readonly Regex WordBeginningSplit = new(@"([-\s({\[<]+)", RegexOptions.CultureInvariant);
    private static readonly Regex Word = new(@"\w+", RegexOptions.CultureInvariant);

    private static readonly Dictionary<string, Filter> Table = new(StringComparer.Ordinal)
    {
        ["abs"] = (v, _) => v switch
        {
            long l => (object)Math.Abs(l),
            double d => Math.Abs(d),
            bool b => b ? 1L : 0L,
            _ => throw new TemplateRuntimeError($"TypeError: bad operand type for abs(): '{PyOps.TypeName(v)}'"),
        },
        ["attr"] = (v, a) => Access.GetAttr(v, a.Str(0, "name")),
        ["capitalize"] = (v, _) => KeepMarkup(v, StringMethods.Capitalize(PyOps.Str(v))),
        ["count"] = (v, _) => PyOps.Len(v),
        ["length"] = (v, _) => PyOps.Len(v),
        ["default"] = Default,
        ["d"] = Default,
        ["dictsort"] = DictSort,
        ["escape"] = (v, _) => v as Markup ?? new Markup(Markup.Escape(PyOps.Str(v))),
        ["e"] = (v, _) => v as Markup ?? new Markup(Markup.Escape(PyOps.Str(v))),
        ["forceescape"] = (v, _) => new Markup(Markup.Escape(PyOps.Str(v))),
        ["first"] = (v, _) => PyOps.Iterate(v) is { Count: > 0 } items ? items[0] : new Undefined("No first item, sequence was empty."),
        ["last"] = (v, _) => v is PyIterator it
            ? throw new TemplateRuntimeError($"TypeError: '{it.TypeName}' object is not reversible")
            : PyOps.Iterate(v) is { Count: > 0 } items ? items[^1] : new Undefined("No last item, sequence was empty."),
        ["float"] = (v, a) => ToFloat(v, a.Get(0, "default", 0.0)),
        ["int"] = (v, a) => ToInt(v, a.Get(0, "default", 0L), PyOps.ToLong(a.Get(1, "base", 10L))),
        ["format"] = (v, a) => a.Kwargs.Count > 0
            ? throw new TemplateRuntimeError("unsupported construct: the 'format' filter with keyword arguments")
            : PyFormat.Printf(PyOps.Str(v), a.Args),
        ["indent"] = Indent,
        ["items"] = (v, _) => v switch
        {
            Undefined => new PyIterator("generator", []),
            PyDict d => new PyIterator("generator", d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList()),
            _ => throw new TemplateRuntimeError("TypeError: Can only get item pairs from a mapping."),
        },
        ["join"] = (v, a) =>
        {
            var items = a.Get(1, "attribute", null) is { } attr ? PyOps.Iterate(v).Select(x => AttrPath(x, attr)) : PyOps.Iterate(v);
            return string.Join(PyOps.Str(a.Get(0, "d", "")), items.Select(PyOps.Str));
        },
        ["list"] = (v, _) => PyOps.Iterate(v).ToList(),
        ["lower"] = (v, _) => KeepMarkup(v, StringMethods.Lower(PyOps.Str(v))),
        ["upper"] = (v, _) => KeepMarkup(v, StringMethods.Upper(PyOps.Str(v))),
        ["map"] = Map,
        ["max"] = (v, a) => MinMax(v, a, max: true),
        ["min"] = (v, a) => MinMax(v, a, max: false),
        ["select"] = (v, a) => SelectOrReject(v, a, select: true, byAttribute: false),
        ["reject"] = (v, a) => SelectOrReject(v, a, select: false, byAttribute: false),
        ["selectattr"] = (v, a) => SelectOrReject(v, a, select: true, byAttribute: true),
        ["rejectattr"] = (v, a) => SelectOrReject(v, a, select: false, byAttribute: true),
        ["replace"] = (v, a) => StringMethods.Replace(PyOps.Str(v), a.Str(0, "old"), a.Str(1, "new"),
            a.Get(2, "count", null) is { } c ? PyOps.ToLong(c) : -1),
        ["reverse"] = (v, _) => v is string s
            ? string.Concat(s.EnumerateRunes().Reverse().Select(r => r.ToString()))
            : v is PyIterator
                ? PyOps.Iterate(v).Reverse().ToList()
                : new PyIterator(v is PyDict ? "dict_reversekeyiterator" : "list_reverseiterator", PyOps.Iterate(v).Reverse().ToList()),
        ["round"] = Round,
        ["safe"] = (v, _) => v as Markup ?? new Markup(PyOps.Str(v)),
        ["sort"] = Sort,
        ["string"] = (v, _) => PyOps.Str(v),
        ["sum"] = (v, a) =>
        {
            var items = a.Get(0, "attribute", null) is { } attr ? PyOps.Iterate(v).Select(x => AttrPath(x, attr)) : PyOps.Iterate(v);
            return items.Aggregate(a.Get(1, "start", 0L), PyOps.Add);
        },
        ["title"] = (v, _) => KeepMarkup(v, string.Concat(WordBeginningSplit.Split(PyOps.Str(v)).Where(p => p.Length > 0)
            .Select(p => StringMethods.Upper(p[..1]) + StringMethods.Lower(p[1..])))),
        ["tojson"] = (v, a) => PyJson.Dumps(v,
            ensureAscii: PyOps.Truthy(a.Get(0, "ensure_ascii", false)),
            indent: a.Get(1, "indent", null) switch
            {
                null => null,
                string s => s,
                var n => new string(' ', (int)PyOps.ToLong(n)),
            },
            separators: a.Get(2, "separators", null) switch
            {
                null => null,
                var s when PyOps.Iterate(s) is [string item, string key] => (item, key),
                _ => throw new TemplateRuntimeError("TypeError: tojson separators must be a pair of strings"),
            },
            sortKeys: PyOps.Truthy(a.Get(3, "sort_keys", false))),
        ["trim"] = (v, a) => KeepMarkup(v, StringMethods.Strip(PyOps.Str(v), a.Get(0, "chars", null))),
        ["unique"] = Unique,
        ["wordcount"] = (v, _) => (long)Word.Matches(PyOps.Str(v)).Count,
    };

    /// <summary>String filters return Markup when given Markup (markupsafe's str methods do).</summary>
    private static object KeepMarkup(object? input, string result) => input is Markup ? new Markup(result) : result;

    public static bool IsKnown(string name) => Table.ContainsKey(name);

    public static object? Apply(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        if (!Table.TryGetValue(name, out var filter)) throw new TemplateRuntimeError($"unsupported construct: no filter named '{name}'");
        return filter(value, new FilterArgs(name, args, kwargs));
    }

    /// <summary>Positional and keyword arguments of one filter call, looked up as Python binds them.</summary>
    private sealed record FilterArgs(string Filter, IReadOnlyList<object?> Args, IReadOnlyDictionary<string, object?> Kwargs)
    {
        public object? Get(int index, string name, object? fallback) =>
            index < Args.Count ? Args[index] : Kwargs.TryGetValue(name, out var v) ? v : fallback;

        public string Str(int index, string name) => Get(index, name, null) is string s
            ? s
            : throw new TemplateRuntimeError($"TypeError: filter '{Filter}' needs a string argument '{name}'");
    }

    private static object? Default(object? v, FilterArgs a)
    {
        var fallback = a.Get(0, "default_value", "");
        var boolean = PyOps.Truthy(a.Get(1, "boolean", false));
        return v is Undefined || (boolean && !PyOps.Truthy(v)) ? fallback : v;
    }

    /// <summary>Follows a dotted attribute path ("a.b" or "0") with Jinja's getitem rules.</summary>
    private static object? AttrPath(object? item, object? path)
    {
        if (path is not string s) return Access.GetItem(item, path);
        foreach (var part in s.Split('.'))
        {
            item = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? Access.GetItem(item, i) : Access.GetItem(item, part);
        }
        return item;
    }

    private static object? SortKey(object? v, bool caseSensitive) => !caseSensitive && v is string s ? s.ToLowerInvariant() : v;

    private static object? DictSort(object? v, FilterArgs a)
    {
        if (v is not PyDict d) throw new TemplateRuntimeError("TypeError: dictsort needs a mapping");
        var caseSensitive = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var by = a.Get(1, "by", "key") as string;
        var pos = by switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new TemplateRuntimeError("FilterArgumentError: You can only sort by either \"key\" or \"value\""),
        };
        var reverse = PyOps.Truthy(a.Get(2, "reverse", false));
        var pairs = d.Select(kv => new PyTuple([kv.Key, kv.Value])).ToList();
        var sorted = StableSort(pairs, p => SortKey(p.Items[pos], caseSensitive), reverse);
        return sorted.Select(p => (object?)p).ToList();
    }

    private static List<T> StableSort<T>(IEnumerable<T> items, Func<T, object?> key, bool reverse)
    {
        var comparer = Comparer<object?>.Create((x, y) => PyOps.Compare(x, y, "<"));
        return reverse ? items.OrderByDescending(key, comparer).ToList() : items.OrderBy(key, comparer).ToList();
    }

    private static object? Sort(object? v, FilterArgs a)
    {
        var reverse = PyOps.Truthy(a.Get(0, "reverse", false));
        var caseSensitive = PyOps.Truthy(a.Get(1, "case_sensitive", false));
        var attribute = a.Get(2, "attribute", null);
        return StableSort(PyOps.Iterate(v), x => SortKey(attribute is null ? x : AttrPath(x, attribute), caseSensitive), reverse);
    }

    private static object? Unique(object? v, FilterArgs a)
    {
        var caseSensitive = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute", null);
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var item in PyOps.Iterate(v))
        {
            var key = SortKey(attribute is null ? item : AttrPath(item, attribute), caseSensitive);
            if (seen.Any(s => PyOps.PyEquals(s, key))) continue;
            seen.Add(key);
            result.Add(item);
        }
        return new PyIterator("generator", result);
    }

    private static object? MinMax(object? v, FilterArgs a, bool max)
    {
        var caseSensitive = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute", null);
        var items = PyOps.Iterate(v);
        if (items.Count == 0) return new Undefined($"No aggregated item, sequence was empty.");
        var best = items[0];
        foreach (var item in items.Skip(1))
        {
            var c = PyOps.Compare(SortKey(attribute is null ? item : AttrPath(item, attribute), caseSensitive),
                SortKey(attribute is null ? best : AttrPath(best, attribute), caseSensitive), max ? ">" : "<");
            if (max ? c > 0 : c < 0) best = item;
        }
        return best;
    }

    private static object? Map(object? v, FilterArgs a)
    {
        // Jinja2 yields nothing for a falsy sequence (e.g. None), and returns a generator.
        var items = PyOps.Truthy(v) ? PyOps.Iterate(v) : [];
        if (a.Kwargs.TryGetValue("attribute", out var attribute))
        {
            var hasDefault = a.Kwargs.TryGetValue("default", out var fallback);
            return new PyIterator("generator", items.Select(x => AttrPath(x, attribute) is Undefined && hasDefault ? fallback : AttrPath(x, attribute)).ToList());
        }
        if (a.Args.Count == 0 || a.Args[0] is not string filterName)
            throw new TemplateRuntimeError("TypeError: map() needs a filter name or attribute=");
        var rest = a.Args.Skip(1).ToList();
        return new PyIterator("generator", items.Select(x => Apply(filterName, x, rest, a.Kwargs)).ToList());
    }

    private static object? SelectOrReject(object? v, FilterArgs a, bool select, bool byAttribute)
    {
        var args = a.Args;
        object? attribute = null;
        if (byAttribute)
        {
            if (args.Count == 0) throw new TemplateRuntimeError($"TypeError: {a.Filter}() needs an attribute name");
            attribute = args[0];
            args = args.Skip(1).ToList();
        }
        Func<object?, bool> test;
        if (args.Count == 0) test = PyOps.Truthy;
        else
        {
            var testName = args[0] as string ?? throw new TemplateRuntimeError($"TypeError: {a.Filter}() test name must be a string");
            if (!Tests.IsKnown(testName)) throw new TemplateRuntimeError($"unsupported construct: no test named '{testName}'");
            var testArgs = args.Skip(1).ToList();
            test = x => Tests.Apply(testName, x, testArgs, new Dictionary<string, object?>());
        }
        // Jinja2 yields nothing for a falsy sequence (e.g. tools=None), and returns a generator.
        var items = PyOps.Truthy(v) ? PyOps.Iterate(v) : [];
        return new PyIterator("generator", items.Where(x => test(byAttribute ? AttrPath(x, attribute) : x) == select).ToList());
    }

    private static object? Round(object? v, FilterArgs a)
    {
        var precision = (int)PyOps.ToLong(a.Get(0, "precision", 0L));
        var method = a.Get(1, "method", "common") as string;
        var x = PyOps.ToDouble(v);
        var scale = Math.Pow(10, precision);
        return method switch
        {
            "common" => Math.Round(x, precision, MidpointRounding.ToEven),
            "ceil" => Math.Ceiling(x * scale) / scale,
            "floor" => Math.Floor(x * scale) / scale,
            _ => throw new TemplateRuntimeError("FilterArgumentError: method must be common, ceil or floor"),
        };
    }

    private static object? ToFloat(object? v, object? fallback)
    {
        if (v is double or long or bool) return PyOps.ToDouble(v);
        return v is string s && double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : fallback;
    }

    private static object? ToInt(object? v, object? fallback, long numberBase)
    {
        switch (v)
        {
            case long or bool: return PyOps.ToLong(v);
            case double d: return (long)Math.Truncate(d);
            case string s:
                var t = s.Trim().Replace("_", "");
                try
                {
                    if (numberBase == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
                    if (numberBase != 10) return Convert.ToInt64(t, (int)numberBase);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    return fallback;
                }
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? (long)Math.Truncate(f) : fallback;
            default: return fallback;
        }
    }

    private static object? Indent(object? v, FilterArgs a)
    {
        var width = a.Get(0, "width", 4L);
        var indention = width is string w ? w : new string(' ', (int)PyOps.ToLong(width));
        var first = PyOps.Truthy(a.Get(1, "first", false));
        var blank = PyOps.Truthy(a.Get(2, "blank", false));
        var lines = (PyOps.Str(v) + "\n").Split('\n').ToList();
        lines.RemoveAt(lines.Count - 1);
        string rv;
        if (blank) rv = string.Join("\n" + indention, lines);
        else
        {
            rv = lines[0];
            if (lines.Count > 1) rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indention + l : l));
        }
        return KeepMarkup(v, first ? indention + rv : rv);
    }
}
