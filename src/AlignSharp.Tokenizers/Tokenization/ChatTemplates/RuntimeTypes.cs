namespace AlignSharp.Tokenization.ChatTemplates;

// Runtime values of the template engine mirror Python's: null is None, bool, long (int), double (float),
// string (str), List<object?> (list), PyTuple (tuple), PyDict (dict), plus Jinja's Undefined, namespace
// objects, loop objects and callables.

/// <summary>Jinja2's default <c>Undefined</c>: prints as "", is falsy, iterates as empty; other uses raise <see cref="Hint"/>.</summary>
internal sealed class Undefined(string hint)
{
    /// <summary>The message Jinja2 raises when this value is used where a real value is needed.</summary>
    public string Hint { get; } = hint;

    public static Undefined Named(string name) => new($"'{name}' is undefined");

    public static Undefined Missing(object? owner, object key) => key is string s
        ? new($"'{PyOps.TypeReprForMissing(owner)}' has no attribute '{s}'")
        : new($"{PyOps.TypeReprForMissing(owner)} has no element {PyRepr.Repr(key)}");
}

/// <summary>
/// markupsafe's <c>Markup</c> (what <c>safe</c> and <c>escape</c> return): a string that HTML-escapes a plain string
/// concatenated to it with <c>+</c>. Everywhere else it behaves as its text.
/// </summary>
internal sealed record Markup(string Value)
{
    public static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&#34;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);
}

/// <summary>A Python tuple (immutable sequence; prints with parentheses).</summary>
internal sealed class PyTuple(IReadOnlyList<object?> items)
{
    public IReadOnlyList<object?> Items { get; } = items;
}

/// <summary>
/// A Python iterator/generator (what <c>map</c>, <c>select</c>, <c>selectattr</c>, <c>reject</c>, <c>unique</c>,
/// <c>items</c> and <c>reverse</c> return in Jinja2): always truthy, no <c>len()</c>, not JSON-serialisable, and
/// exhausted after one iteration. Its items are computed eagerly.
/// </summary>
internal sealed class PyIterator(string typeName, List<object?> items)
{
    private bool _consumed;

    /// <summary>Python's type name, e.g. "generator" or "list_reverseiterator".</summary>
    public string TypeName { get; } = typeName;

    /// <summary>The remaining items; the iterator is exhausted afterwards.</summary>
    public List<object?> Consume()
    {
        if (_consumed) return [];
        _consumed = true;
        return items;
    }
}

/// <summary>A dict view (<c>d.items()</c>, <c>d.keys()</c>, <c>d.values()</c>): iterates like a list, prints as <c>dict_items([...])</c>.</summary>
internal sealed class PyDictView(string kind, List<object?> items)
{
    public string Kind { get; } = kind;

    public List<object?> Items { get; } = items;
}

/// <summary>A Python dict keeping insertion order; keys compare with Python equality.</summary>
internal sealed class PyDict() : OrderedDictionary<object, object?>(PyKeyComparer.Instance);

/// <summary>Python key equality for dict keys (1 == 1.0 == True, strings ordinal).</summary>
internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => PyOps.PyEquals(x, y);

    public int GetHashCode(object obj) => obj switch
    {
        string s => s.GetHashCode(StringComparison.Ordinal),
        Markup m => m.Value.GetHashCode(StringComparison.Ordinal),
        bool b => b ? 1 : 0,
        long l => l.GetHashCode(),
        System.Numerics.BigInteger b => b >= long.MinValue && b <= long.MaxValue ? ((long)b).GetHashCode() : b.GetHashCode(),
        double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => ((long)d).GetHashCode(),
        double d => d.GetHashCode(),
        PyTuple t => t.Items.Aggregate(17, (h, i) => h * 31 + (i is null ? 0 : GetHashCode(i))),
        _ => obj.GetHashCode(),
    };
}

/// <summary>Jinja's <c>namespace(...)</c>: an object whose attributes can be assigned with <c>{% set ns.x = ... %}</c>.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>Anything a template can call: globals, bound methods, macros.</summary>
internal interface ITemplateCallable
{
    object? Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);
}

/// <summary>A callable built from a delegate (globals and bound methods).</summary>
internal sealed class BuiltinCallable(string name, Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, object?> body)
    : ITemplateCallable
{
    public string Name { get; } = name;

    public object? Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs) => body(args, kwargs);
}

/// <summary>A Python-level error (TypeError, ValueError, UndefinedError...) raised while evaluating; the evaluator adds the line.</summary>
internal sealed class TemplateRuntimeError(string message) : Exception(message);

/// <summary>Thrown by <c>raise_exception</c>; the evaluator turns it into <see cref="ChatTemplateRaisedException"/> with the line.</summary>
internal sealed class TemplateRaise(string message) : Exception(message);
