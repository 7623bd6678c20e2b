namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>Jinja2's built-in tests (<c>x is defined</c>, <c>x is string</c>, <c>x is equalto y</c>...).</summary>
internal static class Tests
{
    private static readonly Dictionary<string, Func<object?, IReadOnlyList<object?>, bool>> Table = new(StringComparer.Ordinal)
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["string"] = (v, _) => v is string or Markup,
        ["mapping"] = (v, _) => v is PyDict,
        ["iterable"] = (v, _) => PyOps.IsIterable(v),
        ["sequence"] = (v, _) => v is string or Markup or List<object?> or PyTuple or PyDict or Undefined,
        ["number"] = (v, _) => v is long or double or bool or System.Numerics.BigInteger,
        ["integer"] = (v, _) => v is long or System.Numerics.BigInteger,
        ["float"] = (v, _) => v is double,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["callable"] = (v, _) => v is ITemplateCallable,
        ["odd"] = (v, _) => PyOps.ToLong(v) % 2 != 0,
        ["even"] = (v, _) => PyOps.ToLong(v) % 2 == 0,
        ["divisibleby"] = (v, a) => PyOps.ToLong(PyOps.Arithmetic("%", v, Arg(a, "divisibleby"))) == 0,
        ["lower"] = (v, _) => PyOps.Str(v) is var s && s.Any(char.IsLower) && !s.Any(char.IsUpper),
        ["upper"] = (v, _) => PyOps.Str(v) is var s && s.Any(char.IsUpper) && !s.Any(char.IsLower),
        ["equalto"] = (v, a) => PyOps.PyEquals(v, Arg(a, "equalto")),
        ["eq"] = (v, a) => PyOps.PyEquals(v, Arg(a, "eq")),
        ["=="] = (v, a) => PyOps.PyEquals(v, Arg(a, "==")),
        ["ne"] = (v, a) => !PyOps.PyEquals(v, Arg(a, "ne")),
        ["!="] = (v, a) => !PyOps.PyEquals(v, Arg(a, "!=")),
        ["lt"] = (v, a) => PyOps.Compare(v, Arg(a, "lt"), "<") < 0,
        ["lessthan"] = (v, a) => PyOps.Compare(v, Arg(a, "lessthan"), "<") < 0,
        ["<"] = (v, a) => PyOps.Compare(v, Arg(a, "<"), "<") < 0,
        ["le"] = (v, a) => PyOps.Compare(v, Arg(a, "le"), "<=") <= 0,
        ["<="] = (v, a) => PyOps.Compare(v, Arg(a, "<="), "<=") <= 0,
        ["gt"] = (v, a) => PyOps.Compare(v, Arg(a, "gt"), ">") > 0,
        ["greaterthan"] = (v, a) => PyOps.Compare(v, Arg(a, "greaterthan"), ">") > 0,
        [">"] = (v, a) => PyOps.Compare(v, Arg(a, ">"), ">") > 0,
        ["ge"] = (v, a) => PyOps.Compare(v, Arg(a, "ge"), ">=") >= 0,
        [">="] = (v, a) => PyOps.Compare(v, Arg(a, ">="), ">=") >= 0,
        ["in"] = (v, a) => PyOps.Contains(Arg(a, "in"), v),
        ["sameas"] = (v, a) => Arg(a, "sameas") is var o && (ReferenceEquals(v, o) || (v is null && o is null) || (v is bool b && o is bool c && b == c)),
    };

    public static bool IsKnown(string name) => Table.ContainsKey(name);

    public static bool Apply(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        if (!Table.TryGetValue(name, out var test)) throw new TemplateRuntimeError($"unsupported construct: no test named '{name}'");
        if (kwargs.Count > 0) throw new TemplateRuntimeError($"TypeError: test '{name}' takes no keyword arguments");
        return test(value, args);
    }

    private static object? Arg(IReadOnlyList<object?> args, string test) =>
        args.Count > 0 ? args[0] : throw new TemplateRuntimeError($"TypeError: test '{test}' needs an argument");
}
