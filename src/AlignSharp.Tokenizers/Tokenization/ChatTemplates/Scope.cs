namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// One frame of template variables. A for-loop iteration and a macro call get a child frame, so that
/// <c>{% set %}</c> inside them does not leak out (as in Jinja2); <c>{% if %}</c> shares its frame.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value)) return true;
        }
        value = null;
        return false;
    }

    public Scope? Parent => parent;

    public void Set(string name, object? value) => _vars[name] = value;
}
