namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// Jinja2's sandboxed <c>getattr</c> (<c>x.name</c>: Python attribute first, then item) and <c>getitem</c>
/// (<c>x[key]</c>: item first, then attribute). Missing members give Undefined; mutating methods are refused
/// as in Hugging Face's ImmutableSandboxedEnvironment.
/// </summary>
internal static class Access
{
    private static readonly HashSet<string> DictMutators = ["pop", "popitem", "setdefault", "update", "clear"];
    private static readonly HashSet<string> ListMutators = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"];

    public static object? GetAttr(object? owner, string name)
    {
        owner = PyOps.Plain(owner);
        switch (owner)
        {
            case Undefined u: throw new TemplateRuntimeError(u.Hint);
            case PyDict d:
                if (DictMethod(d, name) is { } m) return m;
                if (DictMutators.Contains(name)) return Unsafe("dict", name);
                return d.TryGetValue(name, out var v) ? v : Undefined.Missing(owner, name);
            case string s:
                return (object?)StringMethods.Get(s, name) ?? Undefined.Missing(owner, name);
            case List<object?> or PyTuple:
                var items = owner is PyTuple t ? t.Items : (List<object?>)owner;
                if (name == "index") return new BuiltinCallable("index", (a, _) => (long)IndexOf(items, a));
                if (name == "count") return new BuiltinCallable("count", (a, _) => (long)items.Count(x => PyOps.PyEquals(x, a.FirstOrDefault())));
                if (owner is List<object?> && ListMutators.Contains(name)) return Unsafe("list", name);
                return Undefined.Missing(owner, name);
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var nv) ? nv : Undefined.Missing(owner, name);
            case LoopContext loop:
                return loop.Get(name);
            default:
                return Undefined.Missing(owner, name);
        }
    }

    public static object? GetItem(object? owner, object? key)
    {
        owner = PyOps.Plain(owner);
        key = PyOps.Plain(key);
        switch (owner)
        {
            case Undefined u: throw new TemplateRuntimeError(u.Hint);
            case PyDict d when key is not null && d.TryGetValue(key, out var v): return v;
            case List<object?> or PyTuple when key is long or bool:
                var items = owner is PyTuple t ? t.Items : (List<object?>)owner;
                var i = PyOps.ToLong(key);
                if (i < 0) i += items.Count;
                return i >= 0 && i < items.Count ? items[(int)i] : Undefined.Missing(owner, key);
            case string s when key is long or bool:
                var chars = PyOps.Chars(s);
                var j = PyOps.ToLong(key);
                if (j < 0) j += chars.Count;
                return j >= 0 && j < chars.Count ? chars[(int)j] : Undefined.Missing(owner, key);
        }
        if (key is string name) return GetAttr(owner, name);
        return Undefined.Missing(owner, key ?? "None");
    }

    private static int IndexOf(IReadOnlyList<object?> items, IReadOnlyList<object?> args)
    {
        var needle = args.FirstOrDefault();
        for (var i = 0; i < items.Count; i++)
        {
            if (PyOps.PyEquals(items[i], needle)) return i;
        }
        throw new TemplateRuntimeError($"ValueError: {PyRepr.Repr(needle)} is not in list");
    }

    private static Undefined Unsafe(string type, string name) =>
        new($"SecurityError: access to attribute '{name}' of '{type}' object is unsafe.");

    private static BuiltinCallable? DictMethod(PyDict d, string name) => name switch
    {
        "items" => new BuiltinCallable("items", (_, _) => new PyDictView("items", d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList())),
        "keys" => new BuiltinCallable("keys", (_, _) => new PyDictView("keys", d.Keys.ToList<object?>())),
        "values" => new BuiltinCallable("values", (_, _) => new PyDictView("values", d.Values.ToList())),
        "get" => new BuiltinCallable("get", (a, kw) =>
        {
            if (a.Count == 0 || a[0] is null) return a.Count > 1 ? a[1] : null;
            return d.TryGetValue(a[0]!, out var v) ? v : a.Count > 1 ? a[1] : kw.GetValueOrDefault("default");
        }),
        "copy" => new BuiltinCallable("copy", (_, _) =>
        {
            var c = new PyDict();
            foreach (var (k, v) in d) c[k] = v;
            return c;
        }),
        _ => null,
    };
}
