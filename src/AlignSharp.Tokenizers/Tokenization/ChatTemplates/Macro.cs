namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>A <c>{% macro %}</c>: called like a function, it renders its body with the arguments bound and returns the text.</summary>
internal sealed class Macro(MacroStmt definition, Scope closure, Evaluator evaluator) : ITemplateCallable
{
    public string Name => definition.Name;

    public object? Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var p = definition.Params;
        if (args.Count > p.Count)
            throw new TemplateRuntimeError($"TypeError: macro '{Name}' takes not more than {p.Count} argument(s)");
        var scope = new Scope(closure);
        for (var i = 0; i < p.Count; i++)
        {
            if (i < args.Count)
            {
                if (kwargs.ContainsKey(p[i])) throw new TemplateRuntimeError($"TypeError: macro '{Name}' got multiple values for argument '{p[i]}'");
                scope.Set(p[i], args[i]);
            }
            else if (kwargs.TryGetValue(p[i], out var kv)) scope.Set(p[i], kv);
            else if (definition.Defaults[i] is { } d) scope.Set(p[i], evaluator.Eval(d, scope));
            else scope.Set(p[i], new Undefined($"parameter '{p[i]}' was not provided"));
        }
        foreach (var k in kwargs.Keys)
        {
            if (!p.Contains(k)) throw new TemplateRuntimeError($"TypeError: macro '{Name}' takes no keyword argument '{k}'");
        }
        return evaluator.RenderToString(definition.Body, scope);
    }
}
