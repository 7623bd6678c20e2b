namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>The <c>loop</c> variable of a <c>{% for %}</c> body (index, index0, first, last, length, ...).</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items, int depth0)
{
    private object? _lastChanged = new();

    public int Index0 { get; set; }

    public int Index => Index0 + 1;

    public int Length => items.Count;

    public object? Get(string name) => name switch
    {
        "index" => (long)Index,
        "index0" => (long)Index0,
        "revindex" => (long)(Length - Index0),
        "revindex0" => (long)(Length - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth" => (long)depth0 + 1,
        "depth0" => (long)depth0,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 < Length - 1 ? items[Index0 + 1] : new Undefined("there is no next item"),
        "cycle" => new BuiltinCallable("cycle", (args, _) =>
            args.Count == 0 ? throw new TemplateRuntimeError("TypeError: no items for cycling given") : args[Index0 % args.Count]),
        "changed" => new BuiltinCallable("changed", (args, _) =>
        {
            var value = new PyTuple(args.ToArray());
            if (_lastChanged is PyTuple last && PyOps.PyEquals(last, value)) return false;
            _lastChanged = value;
            return true;
        }),
        _ => Undefined.Missing(this, name),
    };
}
