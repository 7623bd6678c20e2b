using System.Globalization;
using System.Numerics;
using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>Python semantics of the runtime values: truthiness, str(), equality, ordering, arithmetic, iteration, len.</summary>
internal static class PyOps
{
    /// <summary>Python's type name (as in TypeError messages).</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        string or Markup => "str",
        bool => "bool",
        long or BigInteger => "int",
        double => "float",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PyDictView view => "dict_" + view.Kind,
        PyIterator it => it.TypeName,
        Undefined => "Undefined",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        ITemplateCallable => "function",
        _ => v.GetType().Name,
    };

    /// <summary>Jinja's <c>object_type_repr</c>, used in "'dict object' has no attribute 'x'".</summary>
    public static string TypeReprForMissing(object? v) => v switch
    {
        null => "None",
        Namespace => "jinja2.utils.Namespace object",
        LoopContext => "jinja2.runtime.LoopContext object",
        _ => TypeName(v) + " object",
    };

    /// <summary>A Markup value as its text; anything else unchanged.</summary>
    public static object? Plain(object? v) => v is Markup m ? m.Value : v;

    public static bool Truthy(object? v) => Plain(v) switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        BigInteger b => !b.IsZero,
        double d => d != 0.0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Items.Count > 0,
        PyDict d => d.Count > 0,
        PyDictView view => view.Items.Count > 0,
        Undefined => false,
        _ => true,
    };

    /// <summary>Python <c>str(v)</c> as Jinja prints it (Undefined prints as "").</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        Markup m => m.Value,
        Undefined => "",
        _ => PyRepr.Repr(v),
    };

    public static bool IsNumber(object? v) => v is long or double or bool or BigInteger;

    public static bool PyEquals(object? a, object? b)
    {
        a = Plain(a);
        b = Plain(b);
        if (a is BigInteger || b is BigInteger)
            return a is BigInteger or long or bool && b is BigInteger or long or bool && ToBig(a) == ToBig(b);
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return ToLong(a) == ToLong(b);
        }
        switch (a)
        {
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case Undefined: return b is Undefined;
            case List<object?> la: return b is List<object?> lb && SequenceEquals(la, lb);
            case PyTuple ta: return b is PyTuple tb && SequenceEquals(ta.Items, tb.Items);
            case PyDict da:
                if (b is not PyDict db || da.Count != db.Count) return false;
                foreach (var (k, v) in da)
                {
                    if (!db.TryGetValue(k, out var w) || !PyEquals(v, w)) return false;
                }
                return true;
            default: return ReferenceEquals(a, b);
        }
    }

    private static bool SequenceEquals(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++)
        {
            if (!PyEquals(a[i], b[i])) return false;
        }
        return true;
    }

    /// <summary>Python ordering (&lt;, &gt;...): numbers, strings (by code point), lists/tuples lexicographically.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        a = Plain(a);
        b = Plain(b);
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a).CompareTo(ToDouble(b));
            return ToLong(a).CompareTo(ToLong(b));
        }
        if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
        if (AsSequence(a) is { } la && AsSequence(b) is { } lb && a!.GetType() == b!.GetType())
        {
            for (var i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (PyEquals(la[i], lb[i])) continue;
                return Compare(la[i], lb[i], op);
            }
            return la.Count.CompareTo(lb.Count);
        }
        if (a is Undefined ua) throw new TemplateRuntimeError(ua.Hint);
        if (b is Undefined ub) throw new TemplateRuntimeError(ub.Hint);
        throw new TemplateRuntimeError($"TypeError: '{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static int CompareCodePoints(string a, string b)
    {
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            var ha = ea.MoveNext();
            var hb = eb.MoveNext();
            if (!ha || !hb) return ha.CompareTo(hb);
            var c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0) return c;
        }
    }

    private static IReadOnlyList<object?>? AsSequence(object? v) => v switch
    {
        List<object?> l => l,
        PyTuple t => t.Items,
        _ => null,
    };

    private static BigInteger ToBig(object? v) => v is BigInteger b ? b : ToLong(v);

    public static long ToLong(object? v) => v switch
    {
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        BigInteger => throw new TemplateRuntimeError("OverflowError: integers beyond 64 bits are only supported for printing, JSON and equality"),
        long l => l,
        bool b => b ? 1 : 0,
        double d => (long)d,
        _ => throw new TemplateRuntimeError($"TypeError: expected a number, got '{TypeName(v)}'"),
    };

    public static double ToDouble(object? v) => v switch
    {
        BigInteger b => (double)b,
        double d => d,
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new TemplateRuntimeError($"TypeError: expected a number, got '{TypeName(v)}'"),
    };

    /// <summary>Python <c>len(v)</c>; strings count code points.</summary>
    public static long Len(object? v) => Plain(v) switch
    {
        string s => CodePointCount(s),
        List<object?> l => l.Count,
        PyTuple t => t.Items.Count,
        PyDict d => d.Count,
        PyDictView view => view.Items.Count,
        Namespace => throw new TemplateRuntimeError("TypeError: object of type 'Namespace' has no len()"),
        Undefined => 0,
        LoopContext loop => loop.Length,
        _ => throw new TemplateRuntimeError($"TypeError: object of type '{TypeName(v)}' has no len()"),
    };

    public static int CodePointCount(string s)
    {
        var n = 0;
        foreach (var _ in s.EnumerateRunes()) n++;
        return n;
    }

    /// <summary>Splits a string into Python characters (code points).</summary>
    public static List<object?> Chars(string s) => s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList();

    /// <summary>Python <c>iter(v)</c> materialised: lists/tuples items, dict keys, string characters, Undefined empty.</summary>
    public static IReadOnlyList<object?> Iterate(object? v) => Plain(v) switch
    {
        List<object?> l => l,
        PyTuple t => t.Items,
        PyDict d => d.Keys.ToList<object?>(),
        PyDictView view => view.Items,
        PyIterator it => it.Consume(),
        string s => Chars(s),
        Undefined => [],
        _ => throw new TemplateRuntimeError($"TypeError: '{TypeName(v)}' object is not iterable"),
    };

    public static bool IsIterable(object? v) => v is string or Markup or List<object?> or PyTuple or PyDict or PyDictView or PyIterator or Undefined;

    /// <summary>Python <c>needle in haystack</c>.</summary>
    public static bool Contains(object? haystack, object? needle) => Plain(haystack) switch
    {
        string s when Plain(needle) is string n => s.Contains(n, StringComparison.Ordinal),
        string => throw new TemplateRuntimeError($"TypeError: 'in <string>' requires string as left operand, not {TypeName(needle)}"),
        PyDict d => needle is not null && d.ContainsKey(needle),
        List<object?> or PyTuple or PyDictView or PyIterator or Undefined => Iterate(haystack).Any(x => PyEquals(x, needle)),
        _ => throw new TemplateRuntimeError($"TypeError: argument of type '{TypeName(haystack)}' is not iterable"),
    };

    public static object? Add(object? a, object? b)
    {
        FailIfUndefined(a, b);
        // markupsafe: Markup + str escapes the plain string (and str + Markup likewise).
        if (a is Markup || b is Markup)
        {
            if (a is string or Markup && b is string or Markup)
                return new Markup((a is Markup ma ? ma.Value : Markup.Escape((string)a!)) + (b is Markup mb ? mb.Value : Markup.Escape((string)b!)));
            a = Plain(a);
            b = Plain(b);
        }
        if (a is string sa && b is string sb) return sa + sb;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) + ToDouble(b);
            return checked(ToLong(a) + ToLong(b));
        }
        if (a is List<object?> la && b is List<object?> lb) return la.Concat(lb).ToList();
        if (a is PyTuple ta && b is PyTuple tb) return new PyTuple(ta.Items.Concat(tb.Items).ToArray());
        if (a is string) throw new TemplateRuntimeError($"TypeError: can only concatenate str (not \"{TypeName(b)}\") to str");
        if (a is List<object?>) throw new TemplateRuntimeError($"TypeError: can only concatenate list (not \"{TypeName(b)}\") to list");
        throw Unsupported("+", a, b);
    }

    public static object? Arithmetic(string op, object? a, object? b)
    {
        FailIfUndefined(a, b);
        a = Plain(a);
        b = Plain(b);
        if (op == "%" && a is string fmt) return PyFormat.Printf(fmt, b is PyTuple args ? args.Items : [b]);
        if (op == "*")
        {
            if (a is string s && b is long or bool) return Repeat(s, ToLong(b));
            if (b is string s2 && a is long or bool) return Repeat(s2, ToLong(a));
            if (a is List<object?> l && b is long or bool) return Enumerable.Repeat(l, (int)Math.Max(0, ToLong(b))).SelectMany(x => x).ToList();
        }
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported(op, a, b);
        var isFloat = a is double || b is double;
        switch (op)
        {
            case "-": return isFloat ? ToDouble(a) - ToDouble(b) : (object)checked(ToLong(a) - ToLong(b));
            case "*": return isFloat ? ToDouble(a) * ToDouble(b) : (object)checked(ToLong(a) * ToLong(b));
            case "/":
                if (ToDouble(b) == 0) throw new TemplateRuntimeError("ZeroDivisionError: division by zero");
                return ToDouble(a) / ToDouble(b);
            case "//":
                if (ToDouble(b) == 0) throw new TemplateRuntimeError("ZeroDivisionError: integer division or modulo by zero");
                if (isFloat) return Math.Floor(ToDouble(a) / ToDouble(b));
                return FloorDiv(ToLong(a), ToLong(b));
            case "%":
                if (ToDouble(b) == 0) throw new TemplateRuntimeError("ZeroDivisionError: integer division or modulo by zero");
                if (isFloat)
                {
                    double x = ToDouble(a), y = ToDouble(b);
                    var m = x % y;
                    return m != 0 && (m < 0) != (y < 0) ? m + y : m;
                }
                else
                {
                    long x = ToLong(a), y = ToLong(b);
                    return x - FloorDiv(x, y) * y;
                }
            case "**":
                if (!isFloat && ToLong(b) >= 0)
                {
                    long result = 1, bas = ToLong(a);
                    for (var i = 0L; i < ToLong(b); i++) result = checked(result * bas);
                    return result;
                }
                return Math.Pow(ToDouble(a), ToDouble(b));
            default: throw new TemplateRuntimeError($"unknown operator '{op}'");
        }
    }

    private static long FloorDiv(long x, long y)
    {
        var q = x / y;
        return (x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q;
    }

    private static string Repeat(string s, long n)
    {
        var sb = new StringBuilder();
        for (var i = 0L; i < n; i++) sb.Append(s);
        return sb.ToString();
    }

    public static object? Negate(object? v) => v switch
    {
        long l => (object)-l,
        double d => -d,
        bool b => b ? -1L : 0L,
        Undefined u => throw new TemplateRuntimeError(u.Hint),
        _ => throw new TemplateRuntimeError($"TypeError: bad operand type for unary -: '{TypeName(v)}'"),
    };

    private static void FailIfUndefined(object? a, object? b)
    {
        if (a is Undefined ua) throw new TemplateRuntimeError(ua.Hint);
        if (b is Undefined ub) throw new TemplateRuntimeError(ub.Hint);
    }

    private static TemplateRuntimeError Unsupported(string op, object? a, object? b) =>
        new($"TypeError: unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");

    /// <summary>Python slicing <c>v[start:stop:step]</c> on strings, lists and tuples.</summary>
    public static object? Slice(object? v, object? start, object? stop, object? step)
    {
        var st = step is null ? 1 : ToLong(step);
        if (st == 0) throw new TemplateRuntimeError("ValueError: slice step cannot be zero");
        v = Plain(v);
        IReadOnlyList<object?> items = v switch
        {
            string s => Chars(s),
            List<object?> l => l,
            PyTuple t => t.Items,
            Undefined u => throw new TemplateRuntimeError(u.Hint),
            _ => throw new TemplateRuntimeError($"TypeError: '{TypeName(v)}' object is not subscriptable"),
        };
        long n = items.Count;
        long Clamp(object? bound, long defaultValue, long lo, long hi)
        {
            if (bound is null) return defaultValue;
            var x = ToLong(bound);
            if (x < 0) x += n;
            return Math.Clamp(x, lo, hi);
        }
        var picked = new List<object?>();
        if (st > 0)
        {
            var a = Clamp(start, 0, 0, n);
            var b = Clamp(stop, n, 0, n);
            for (var i = a; i < b; i += st) picked.Add(items[(int)i]);
        }
        else
        {
            var a = Clamp(start, n - 1, -1, n - 1);
            var b = Clamp(stop, -1, -1, n - 1);
            for (var i = a; i > b; i += st) picked.Add(items[(int)i]);
        }
        return v switch
        {
            string => string.Concat(picked.Cast<string>()),
            PyTuple => new PyTuple(picked),
            _ => picked,
        };
    }

    public static string FormatInt(long l) => l.ToString(CultureInfo.InvariantCulture);

    public static string FormatInt(BigInteger b) => b.ToString(CultureInfo.InvariantCulture);
}
