using System.Text;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// Walks the syntax tree with Jinja2 semantics: Python truthiness and operators, Jinja's default Undefined,
/// per-iteration loop scopes, namespaces, macros, loop controls. Runtime errors become
/// <see cref="ChatTemplateException"/> naming the template line; <c>raise_exception</c> becomes <see cref="ChatTemplateRaisedException"/>.
/// </summary>
internal sealed class Evaluator
{
    private enum Flow { Normal, Break, Continue }

    private readonly Scope _globals;

    public Evaluator(Func<DateTime> clock)
    {
        _globals = new Scope(null);
        _globals.Set("raise_exception", new BuiltinCallable("raise_exception", (args, _) =>
            throw new TemplateRaise(args.Count > 0 ? PyOps.Str(args[0]) : "")));
        _globals.Set("strftime_now", new BuiltinCallable("strftime_now", (args, _) =>
            PyStrftime.Format(clock(), args.Count > 0 && args[0] is string f ? f : throw new TemplateRuntimeError("TypeError: strftime_now() needs a format string"))));
        _globals.Set("namespace", new BuiltinCallable("namespace", (args, kwargs) =>
        {
            var ns = new Namespace();
            foreach (var a in args)
            {
                if (a is not PyDict d) throw new TemplateRuntimeError("TypeError: namespace() positional argument must be a dict");
                foreach (var (k, v) in d) ns.Attributes[PyOps.Str(k)] = v;
            }
            foreach (var (k, v) in kwargs) ns.Attributes[k] = v;
            return ns;
        }));
        _globals.Set("range", new BuiltinCallable("range", (args, _) => Range(args)));
        _globals.Set("dict", new BuiltinCallable("dict", (args, kwargs) =>
        {
            var d = new PyDict();
            if (args.Count > 0 && args[0] is PyDict src) foreach (var (k, v) in src) d[k] = v;
            foreach (var (k, v) in kwargs) d[k] = v;
            return d;
        }));
    }

    /// <summary>Renders a whole template with the given top-level variables.</summary>
    public string Render(IReadOnlyList<Node> body, IEnumerable<KeyValuePair<string, object?>> variables)
    {
        var scope = new Scope(_globals);
        foreach (var (k, v) in variables) scope.Set(k, v);
        return RenderToString(body, scope);
    }

    public string RenderToString(IReadOnlyList<Node> body, Scope scope)
    {
        var sb = new StringBuilder();
        Exec(body, scope, sb);
        return sb.ToString();
    }

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        long start = 0, stop, step = 1;
        if (args.Count == 1) stop = PyOps.ToLong(args[0]);
        else if (args.Count is 2 or 3)
        {
            start = PyOps.ToLong(args[0]);
            stop = PyOps.ToLong(args[1]);
            if (args.Count == 3) step = PyOps.ToLong(args[2]);
        }
        else throw new TemplateRuntimeError("TypeError: range expected 1 to 3 arguments");
        if (step == 0) throw new TemplateRuntimeError("ValueError: range() arg 3 must not be zero");
        var list = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            list.Add(i);
            if (list.Count > 100_000) throw new TemplateRuntimeError("OverflowError: range too big (more than 100000 items)");
        }
        return list;
    }

    // ---------------- statements ----------------

    private Flow Exec(IReadOnlyList<Node> body, Scope scope, StringBuilder sb)
    {
        foreach (var node in body)
        {
            var flow = ExecOne(node, scope, sb);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow ExecOne(Node node, Scope scope, StringBuilder sb)
    {
        switch (node)
        {
            case OutputText t:
                sb.Append(t.Text);
                return Flow.Normal;
            case PrintStmt p:
                sb.Append(PyOps.Str(Eval(p.Value, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (test, branch) in i.Branches)
                {
                    if (PyOps.Truthy(Eval(test, scope))) return Exec(branch, scope, sb);
                }
                return i.Else is null ? Flow.Normal : Exec(i.Else, scope, sb);
            case ForStmt f:
                ExecFor(f, scope, sb);
                return Flow.Normal;
            case SetStmt s:
                Assign(s.Target, Eval(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockStmt setBlock:
                object? captured = RenderToString(setBlock.Body, new Scope(scope));
                foreach (var f in setBlock.Filters) captured = Guard(f.Line, () => ApplyFilter(f, captured, scope));
                scope.Set(setBlock.Name, captured);
                return Flow.Normal;
            case MacroStmt m:
                scope.Set(m.Name, new Macro(m, scope, this));
                return Flow.Normal;
            case FilterBlockStmt fb:
                object? text = RenderToString(fb.Body, new Scope(scope));
                foreach (var f in fb.Filters) text = Guard(f.Line, () => ApplyFilter(f, text, scope));
                sb.Append(PyOps.Str(text));
                return Flow.Normal;
            case LoopControlStmt lc:
                return lc.IsBreak ? Flow.Break : Flow.Continue;
            case GenerationStmt g:
                return Exec(g.Body, scope, sb);
            default:
                throw new ChatTemplateException($"unsupported construct: {node.GetType().Name}", node.Line);
        }
    }

    private void ExecFor(ForStmt f, Scope scope, StringBuilder sb)
    {
        var iterable = Eval(f.Iterable, scope);
        var items = Guard(f.Line, () => iterable is null
            ? throw new TemplateRuntimeError("TypeError: 'NoneType' object is not iterable")
            : PyOps.Iterate(iterable));
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                var probe = new Scope(scope);
                Assign(f.Target, item, probe);
                if (PyOps.Truthy(Eval(f.Filter, probe))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0)
        {
            if (f.Else is not null) Exec(f.Else, new Scope(scope), sb);
            return;
        }
        var depth0 = scope.TryGet("loop", out var outer) && outer is LoopContext ? 1 : 0;
        var loop = new LoopContext(items, depth0);
        for (var i = 0; i < items.Count; i++)
        {
            var iterationScope = new Scope(scope);
            Assign(f.Target, items[i], iterationScope);
            loop.Index0 = i;
            iterationScope.Set("loop", loop);
            if (Exec(f.Body, iterationScope, sb) == Flow.Break) break;
        }
    }

    private void Assign(Expr target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                break;
            case GetAttrExpr { Target: NameExpr owner } attr:
                if (!scope.TryGet(owner.Name, out var ns) || ns is not Namespace nso)
                    throw new ChatTemplateException($"cannot assign attribute '{attr.Name}' on '{owner.Name}': it is not a namespace() object", target.Line);
                nso.Attributes[attr.Name] = value;
                break;
            case TupleExpr t:
                var items = Guard(t.Line, () => PyOps.Iterate(value));
                if (items.Count != t.Items.Count)
                    throw new ChatTemplateException($"ValueError: cannot unpack {items.Count} value(s) into {t.Items.Count} target(s)", t.Line);
                for (var i = 0; i < items.Count; i++) Assign(t.Items[i], items[i], scope);
                break;
            default:
                throw new ChatTemplateException("cannot assign to this expression", target.Line);
        }
    }

    // ---------------- expressions ----------------

    private static T Guard<T>(int line, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (TemplateRuntimeError e)
        {
            throw new ChatTemplateException(e.Message, line, e);
        }
        catch (TemplateRaise r)
        {
            throw new ChatTemplateRaisedException(r.Message, line);
        }
    }

    public object? Eval(Expr e, Scope scope)
    {
        try
        {
            return EvalCore(e, scope);
        }
        catch (TemplateRuntimeError err)
        {
            throw new ChatTemplateException(err.Message, e.Line, err);
        }
        catch (TemplateRaise r)
        {
            throw new ChatTemplateRaisedException(r.Message, e.Line);
        }
    }

    private object? EvalCore(Expr e, Scope scope)
    {
        switch (e)
        {
            case LiteralExpr l: return l.Value;
            case NameExpr n: return scope.TryGet(n.Name, out var v) ? v : Undefined.Named(n.Name);
            case ListExpr l: return l.Items.Select(i => Eval(i, scope)).ToList();
            case TupleExpr t: return new PyTuple(t.Items.Select(i => Eval(i, scope)).ToArray());
            case DictExpr d:
                var dict = new PyDict();
                foreach (var (k, val) in d.Pairs)
                {
                    var key = Eval(k, scope) ?? throw new TemplateRuntimeError("None as a dict key is not supported");
                    dict[key] = Eval(val, scope);
                }
                return dict;
            case GetAttrExpr a: return Access.GetAttr(Eval(a.Target, scope), a.Name);
            case GetItemExpr gi:
                var owner = Eval(gi.Target, scope);
                return Access.GetItem(owner, Eval(gi.Key, scope));
            case SliceExpr s:
                var seq = Eval(s.Target, scope);
                return PyOps.Slice(seq, EvalOpt(s.Start, scope), EvalOpt(s.Stop, scope), EvalOpt(s.Step, scope));
            case CallExpr c:
                var callee = Eval(c.Callee, scope);
                var (args, kwargs) = EvalArgs(c.Args, scope);
                return callee switch
                {
                    ITemplateCallable f => f.Call(args, kwargs),
                    Undefined u => throw new TemplateRuntimeError(u.Hint),
                    _ => throw new TemplateRuntimeError($"TypeError: '{PyOps.TypeName(callee)}' object is not callable"),
                };
            case FilterExpr f: return ApplyFilter(f.Filter, Eval(f.Value, scope), scope);
            case TestExpr t:
                var (targs, tkwargs) = EvalArgs(t.Args, scope);
                var result = Tests.Apply(t.Name, Eval(t.Value, scope), targs, tkwargs);
                return t.Negated ? !result : result;
            case UnaryExpr u:
                var operand = Eval(u.Operand, scope);
                return u.Op switch
                {
                    "not" => !PyOps.Truthy(operand),
                    "-" => PyOps.Negate(operand),
                    _ => PyOps.IsNumber(operand) ? operand : throw new TemplateRuntimeError($"TypeError: bad operand type for unary +: '{PyOps.TypeName(operand)}'"),
                };
            case BinaryExpr b: return EvalBinary(b, scope);
            case CompareExpr c:
                var left = Eval(c.First, scope);
                foreach (var (op, rightExpr) in c.Rest)
                {
                    var right = Eval(rightExpr, scope);
                    var ok = op switch
                    {
                        "==" => PyOps.PyEquals(left, right),
                        "!=" => !PyOps.PyEquals(left, right),
                        "in" => PyOps.Contains(right, left),
                        "notin" => !PyOps.Contains(right, left),
                        "<" => PyOps.Compare(left, right, op) < 0,
                        "<=" => PyOps.Compare(left, right, op) <= 0,
                        ">" => PyOps.Compare(left, right, op) > 0,
                        _ => PyOps.Compare(left, right, op) >= 0,
                    };
                    if (!ok) return false;
                    left = right;
                }
                return true;
            case CondExpr ce:
                if (PyOps.Truthy(Eval(ce.Test, scope))) return Eval(ce.Then, scope);
                return ce.Else is null
                    ? new Undefined($"the inline if-expression on line {ce.Line} evaluated to false and no else section was defined.")
                    : Eval(ce.Else, scope);
            default:
                throw new ChatTemplateException($"unsupported expression {e.GetType().Name}", e.Line);
        }
    }

    private object? EvalOpt(Expr? e, Scope scope) => e is null ? null : Eval(e, scope);

    private object? EvalBinary(BinaryExpr b, Scope scope)
    {
        var left = Eval(b.Left, scope);
        switch (b.Op)
        {
            case "and": return PyOps.Truthy(left) ? Eval(b.Right, scope) : left;
            case "or": return PyOps.Truthy(left) ? left : Eval(b.Right, scope);
        }
        var right = Eval(b.Right, scope);
        return b.Op switch
        {
            "+" => PyOps.Add(left, right),
            "~" => PyOps.Str(left) + PyOps.Str(right),
            _ => PyOps.Arithmetic(b.Op, left, right),
        };
    }

    private (List<object?> Args, Dictionary<string, object?> Kwargs) EvalArgs(CallArgs args, Scope scope)
    {
        var positional = args.Positional.Select(a => Eval(a, scope)).ToList();
        var keyword = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in args.Keyword) keyword[name] = Eval(value, scope);
        return (positional, keyword);
    }

    private object? ApplyFilter(FilterCall f, object? value, Scope scope)
    {
        var (args, kwargs) = EvalArgs(f.Args, scope);
        return Filters.Apply(f.Name, value, args, kwargs);
    }
}
