namespace AlignSharp.Tokenization.ChatTemplates;

// Syntax tree of a parsed template. Every node carries its 1-based template line for error messages.

internal abstract record Node(int Line);

// ---- statements ----
internal sealed record OutputText(int Line, string Text) : Node(Line);
internal sealed record PrintStmt(int Line, Expr Value) : Node(Line);
internal sealed record IfStmt(int Line, IReadOnlyList<(Expr Test, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node>? Else) : Node(Line);
internal sealed record ForStmt(int Line, Expr Target, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node>? Else) : Node(Line);
internal sealed record SetStmt(int Line, Expr Target, Expr Value) : Node(Line);
internal sealed record SetBlockStmt(int Line, string Name, IReadOnlyList<FilterCall> Filters, IReadOnlyList<Node> Body) : Node(Line);
internal sealed record MacroStmt(int Line, string Name, IReadOnlyList<string> Params, IReadOnlyList<Expr?> Defaults, IReadOnlyList<Node> Body) : Node(Line);
internal sealed record FilterBlockStmt(int Line, IReadOnlyList<FilterCall> Filters, IReadOnlyList<Node> Body) : Node(Line);
internal sealed record LoopControlStmt(int Line, bool IsBreak) : Node(Line);
/// <summary>Hugging Face's <c>{% generation %}</c> marker (assistant-mask tracking): renders its body unchanged.</summary>
internal sealed record GenerationStmt(int Line, IReadOnlyList<Node> Body) : Node(Line);

// ---- expressions ----
internal abstract record Expr(int Line) : Node(Line);
internal sealed record LiteralExpr(int Line, object? Value) : Expr(Line);
internal sealed record NameExpr(int Line, string Name) : Expr(Line);
internal sealed record ListExpr(int Line, IReadOnlyList<Expr> Items) : Expr(Line);
internal sealed record TupleExpr(int Line, IReadOnlyList<Expr> Items) : Expr(Line);
internal sealed record DictExpr(int Line, IReadOnlyList<(Expr Key, Expr Value)> Pairs) : Expr(Line);
internal sealed record GetAttrExpr(int Line, Expr Target, string Name) : Expr(Line);
internal sealed record GetItemExpr(int Line, Expr Target, Expr Key) : Expr(Line);
internal sealed record SliceExpr(int Line, Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr(Line);
internal sealed record CallExpr(int Line, Expr Callee, CallArgs Args) : Expr(Line);
internal sealed record FilterExpr(int Line, Expr Value, FilterCall Filter) : Expr(Line);
internal sealed record TestExpr(int Line, Expr Value, string Name, CallArgs Args, bool Negated) : Expr(Line);
internal sealed record UnaryExpr(int Line, string Op, Expr Operand) : Expr(Line);
internal sealed record BinaryExpr(int Line, string Op, Expr Left, Expr Right) : Expr(Line);
internal sealed record CompareExpr(int Line, Expr First, IReadOnlyList<(string Op, Expr Right)> Rest) : Expr(Line);
internal sealed record CondExpr(int Line, Expr Test, Expr Then, Expr? Else) : Expr(Line);

internal sealed record CallArgs(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Keyword)
{
    public static readonly CallArgs Empty = new([], []);
}

internal sealed record FilterCall(int Line, string Name, CallArgs Args);
