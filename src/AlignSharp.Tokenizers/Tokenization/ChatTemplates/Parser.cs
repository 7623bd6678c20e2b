namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// Recursive-descent parser for the Jinja2 subset chat templates use, following Jinja2's grammar and operator
/// precedence (conditional, or, and, not, comparisons/in, + -, ~, * / // %, **, unary, postfix, filters/tests).
/// Unknown filters/tests and unsupported tags are rejected here with the construct's name and line.
/// </summary>
internal sealed class Parser
{
    private static readonly HashSet<string> UnsupportedTags =
        ["include", "extends", "import", "from", "block", "endblock", "call", "endcall", "with", "endwith", "autoescape", "endautoescape", "do", "trans", "endtrans", "pluralize"];

    /// <summary>
    /// Deepest nesting of expressions (brackets, unary operators) and of block tags. Real templates nest a few
    /// levels; a hostile one nesting thousands would overflow the stack (and kill the process) in this recursive
    /// parser and in rendering, so it is a syntax error, as Jinja2's RecursionError is.
    /// </summary>
    private const int MaxNesting = 100;

    private readonly List<Token> _tokens;
    private int _i;
    private int _loopDepth;
    private int _nesting;

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var (body, _) = parser.ParseBody();
        return body;
    }

    private Token Current => _tokens[_i];

    private Token Peek(int offset = 1) => _tokens[Math.Min(_i + offset, _tokens.Count - 1)];

    private Token Next() => _tokens[_i++];

    private static ChatTemplateException Error(Token at, string message) => new(message, at.Line);

    private Token Expect(TokenKind kind, string? value, string what)
    {
        var t = Current;
        if (t.Kind != kind || (value is not null && t.Value != value))
            throw Error(t, $"syntax error: expected {what}, got {t}");
        return Next();
    }

    private void ExpectBlockEnd(string tag) => Expect(TokenKind.BlockEnd, null, $"'%}}' to close '{{% {tag} %}}'");

    private string ExpectName(string what) => Expect(TokenKind.Name, null, what).Value;

    /// <summary>Parses nodes until one of <paramref name="endTags"/> opens a block tag; returns that tag name (consumed) or null at end of template.</summary>
    private (List<Node> Body, string? EndTag) ParseBody(params string[] endTags)
    {
        var nodes = new List<Node>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Data:
                    nodes.Add(new OutputText(t.Line, t.Value));
                    Next();
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    var expr = ParseTuple();
                    Expect(TokenKind.VariableEnd, null, "'}}'");
                    nodes.Add(new PrintStmt(t.Line, expr));
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    var name = Current;
                    if (name.Kind == TokenKind.Name && endTags.Contains(name.Value))
                    {
                        Next();
                        return (nodes, name.Value);
                    }
                    nodes.Add(ParseStatement());
                    break;
                case TokenKind.Eof:
                    if (endTags.Length > 0)
                        throw Error(t, $"unexpected end of template: expected {string.Join(" or ", endTags.Select(e => $"'{{% {e} %}}'"))}");
                    return (nodes, null);
                default:
                    throw Error(t, $"syntax error: unexpected {t}");
            }
        }
    }

    private Node ParseStatement() => Nested(ParseStatementAt);

    private Node ParseStatementAt()
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Error(t, $"syntax error: expected a tag name after '{{%', got {t}");
        switch (t.Value)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "filter": return ParseFilterBlock();
            case "generation":
            {
                Next();
                ExpectBlockEnd("generation");
                var (body, _) = ParseBody("endgeneration");
                ExpectBlockEnd("endgeneration");
                return new GenerationStmt(t.Line, body);
            }
            case "break" or "continue":
                Next();
                if (_loopDepth == 0) throw Error(t, $"'{{% {t.Value} %}}' outside of a for loop");
                ExpectBlockEnd(t.Value);
                return new LoopControlStmt(t.Line, t.Value == "break");
            default:
                if (UnsupportedTags.Contains(t.Value))
                    throw Error(t, $"unsupported construct: the '{{% {t.Value} %}}' tag is not supported by this chat-template renderer");
                throw Error(t, $"unknown tag '{{% {t.Value} %}}'");
        }
    }

    private IfStmt ParseIf()
    {
        var line = Next().Line;
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        List<Node>? elseBody = null;
        var test = ParseTuple(withCondExpr: false);
        ExpectBlockEnd("if");
        while (true)
        {
            var (body, end) = ParseBody("elif", "else", "endif");
            branches.Add((test, body));
            if (end == "elif")
            {
                test = ParseTuple(withCondExpr: false);
                ExpectBlockEnd("elif");
                continue;
            }
            if (end == "else")
            {
                ExpectBlockEnd("else");
                (elseBody, _) = ParseBody("endif");
            }
            ExpectBlockEnd("endif");
            return new IfStmt(line, branches, elseBody);
        }
    }

    private ForStmt ParseFor()
    {
        var line = Next().Line;
        var target = ParseAssignTarget(extraEnd: "in");
        Expect(TokenKind.Name, "in", "'in' in for loop");
        var iterable = ParseTuple(withCondExpr: false, extraEnd: ["recursive", "if"]);
        Expr? filter = null;
        if (Current.IsName("if"))
        {
            Next();
            filter = ParseExpression();
        }
        if (Current.IsName("recursive"))
            throw Error(Current, "unsupported construct: recursive for loops ('{% for ... recursive %}') are not supported");
        ExpectBlockEnd("for");
        _loopDepth++;
        var (body, end) = ParseBody("endfor", "else");
        _loopDepth--;
        List<Node>? elseBody = null;
        if (end == "else")
        {
            ExpectBlockEnd("else");
            (elseBody, _) = ParseBody("endfor");
        }
        ExpectBlockEnd("endfor");
        return new ForStmt(line, target, iterable, filter, body, elseBody);
    }

    private Node ParseSet()
    {
        var line = Next().Line;
        var target = ParseAssignTarget(withNamespace: true);
        if (Current.IsOp("="))
        {
            Next();
            var value = ParseTuple();
            ExpectBlockEnd("set");
            return new SetStmt(line, target, value);
        }
        if (target is not NameExpr name) throw Error(Current, "syntax error: a block '{% set %}' needs a plain variable name");
        var filters = ParseFilterChain();
        ExpectBlockEnd("set");
        var (body, _) = ParseBody("endset");
        ExpectBlockEnd("endset");
        return new SetBlockStmt(line, name.Name, filters, body);
    }

    private MacroStmt ParseMacro()
    {
        var line = Next().Line;
        var name = ExpectName("a macro name");
        Expect(TokenKind.Operator, "(", "'(' after macro name");
        var parameters = new List<string>();
        var defaults = new List<Expr?>();
        while (!Current.IsOp(")"))
        {
            if (parameters.Count > 0) Expect(TokenKind.Operator, ",", "',' between macro parameters");
            if (Current.IsOp(")")) break;
            parameters.Add(ExpectName("a parameter name"));
            if (Current.IsOp("="))
            {
                Next();
                defaults.Add(ParseExpression());
            }
            else
            {
                if (defaults.Any(d => d is not null)) throw Error(Current, "syntax error: non-default macro parameter follows a default one");
                defaults.Add(null);
            }
        }
        Next();
        ExpectBlockEnd("macro");
        var savedDepth = _loopDepth;
        _loopDepth = 0;
        var (body, _) = ParseBody("endmacro");
        _loopDepth = savedDepth;
        ExpectBlockEnd("endmacro");
        return new MacroStmt(line, name, parameters, defaults, body);
    }

    private FilterBlockStmt ParseFilterBlock()
    {
        var line = Next().Line;
        var filters = new List<FilterCall> { ParseFilterCall() };
        filters.AddRange(ParseFilterChain());
        ExpectBlockEnd("filter");
        var (body, _) = ParseBody("endfilter");
        ExpectBlockEnd("endfilter");
        return new FilterBlockStmt(line, filters, body);
    }

    private List<FilterCall> ParseFilterChain()
    {
        var filters = new List<FilterCall>();
        while (Current.IsOp("|"))
        {
            Next();
            filters.Add(ParseFilterCall());
        }
        return filters;
    }

    private Expr ParseAssignTarget(string? extraEnd = null, bool withNamespace = false)
    {
        var t = Current;
        if (withNamespace && t.Kind == TokenKind.Name && Peek().IsOp("."))
        {
            Next();
            Next();
            var attr = ExpectName("an attribute name");
            return new GetAttrExpr(t.Line, new NameExpr(t.Line, t.Value), attr);
        }
        var target = ParseTuple(simplified: true, extraEnd: extraEnd is null ? null : [extraEnd]);
        var names = target is TupleExpr tuple ? tuple.Items : [target];
        foreach (var n in names)
        {
            if (n is not NameExpr ne) throw Error(t, "syntax error: can only assign to names (or namespace attributes)");
            if (ne.Name is "true" or "false" or "none" or "True" or "False" or "None") throw Error(t, $"syntax error: cannot assign to '{ne.Name}'");
        }
        return target;
    }

    // ---------------- expressions ----------------

    private bool IsTupleEnd(string[]? extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.Eof || Current.IsOp(")")
        || (extraEnd is not null && Current.Kind == TokenKind.Name && extraEnd.Contains(Current.Value));

    private Expr ParseTuple(bool simplified = false, bool withCondExpr = true, string[]? extraEnd = null, bool explicitParens = false)
    {
        var line = Current.Line;
        var items = new List<Expr>();
        var isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",", "','");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(simplified ? ParsePrimary() : withCondExpr ? ParseExpression() : ParseOr());
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParens) throw Error(Current, $"syntax error: expected an expression, got {Current}");
        }
        return new TupleExpr(line, items);
    }

    private Expr ParseExpression() => ParseCondExpr();

    private Expr ParseCondExpr()
    {
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            var line = Next().Line;
            var test = ParseOr();
            Expr? otherwise = null;
            if (Current.IsName("else"))
            {
                Next();
                otherwise = ParseCondExpr();
            }
            expr = new CondExpr(line, test, expr, otherwise);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            var line = Next().Line;
            left = new BinaryExpr(line, "or", left, ParseAnd());
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            var line = Next().Line;
            left = new BinaryExpr(line, "and", left, ParseNot());
        }
        return left;
    }

    /// <summary>Runs <paramref name="parse"/> one nesting level deeper, failing past <see cref="MaxNesting"/>.</summary>
    private T Nested<T>(Func<T> parse)
    {
        if (++_nesting > MaxNesting)
            throw Error(Current, $"syntax error: nested deeper than {MaxNesting} levels");
        try { return parse(); }
        finally { _nesting--; }
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            var line = Next().Line;
            return new UnaryExpr(line, "not", Nested(ParseNot));
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var line = Current.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.Operator && t.Value is "==" or "!=" or ">" or ">=" or "<" or "<=")
            {
                Next();
                rest.Add((t.Value, ParseMath1()));
            }
            else if (t.IsName("in"))
            {
                Next();
                rest.Add(("in", ParseMath1()));
            }
            else if (t.IsName("not") && Peek().IsName("in"))
            {
                Next();
                Next();
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(line, first, rest);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.IsOp("+") || Current.IsOp("-"))
        {
            var t = Next();
            left = new BinaryExpr(t.Line, t.Value, left, ParseConcat());
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMath2();
        while (Current.IsOp("~"))
        {
            var t = Next();
            left = new BinaryExpr(t.Line, "~", left, ParseMath2());
        }
        return left;
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var t = Next();
            left = new BinaryExpr(t.Line, t.Value, left, ParsePow());
        }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary();
        while (Current.IsOp("**"))
        {
            var t = Next();
            left = new BinaryExpr(t.Line, "**", left, ParseUnary());
        }
        return left;
    }

    private Expr ParseUnary(bool withFilter = true)
    {
        Expr node;
        if (Current.IsOp("-") || Current.IsOp("+"))
        {
            var t = Next();
            node = new UnaryExpr(t.Line, t.Value, Nested(() => ParseUnary(false)));
        }
        else node = Nested(ParsePrimary); // brackets, lists and dicts nest through here
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Next();
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(t.Line, true),
                    "false" or "False" => new LiteralExpr(t.Line, false),
                    "none" or "None" => new LiteralExpr(t.Line, null),
                    _ => new NameExpr(t.Line, t.Value),
                };
            case TokenKind.String:
                var text = (string)t.Literal!;
                Next();
                while (Current.Kind == TokenKind.String) text += (string)Next().Literal!;
                return new LiteralExpr(t.Line, text);
            case TokenKind.Integer or TokenKind.Float:
                Next();
                return new LiteralExpr(t.Line, t.Literal);
            case TokenKind.Operator when t.Value == "(":
                Next();
                var inner = ParseTuple(explicitParens: true);
                Expect(TokenKind.Operator, ")", "')'");
                return inner;
            case TokenKind.Operator when t.Value == "[":
                Next();
                var items = new List<Expr>();
                while (!Current.IsOp("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Operator, ",", "',' in list");
                    if (Current.IsOp("]")) break;
                    items.Add(ParseExpression());
                }
                Next();
                return new ListExpr(t.Line, items);
            case TokenKind.Operator when t.Value == "{":
                Next();
                var pairs = new List<(Expr, Expr)>();
                while (!Current.IsOp("}"))
                {
                    if (pairs.Count > 0) Expect(TokenKind.Operator, ",", "',' in dict");
                    if (Current.IsOp("}")) break;
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":", "':' in dict");
                    pairs.Add((key, ParseExpression()));
                }
                Next();
                return new DictExpr(t.Line, pairs);
            default:
                throw Error(t, $"syntax error: unexpected {t}");
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOp(".") || Current.IsOp("[")) node = ParseSubscript(node);
            else if (Current.IsOp("(")) node = new CallExpr(Current.Line, node, ParseCallArgs());
            else return node;
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|"))
            {
                Next();
                var f = ParseFilterCall();
                node = new FilterExpr(f.Line, node, f);
            }
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOp("(")) node = new CallExpr(Current.Line, node, ParseCallArgs());
            else return node;
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var t = Next();
        if (t.Value == ".")
        {
            var attr = Current;
            if (attr.Kind == TokenKind.Name)
            {
                Next();
                return new GetAttrExpr(attr.Line, node, attr.Value);
            }
            if (attr.Kind == TokenKind.Integer)
            {
                Next();
                return new GetItemExpr(attr.Line, node, new LiteralExpr(attr.Line, attr.Literal));
            }
            throw Error(attr, $"syntax error: expected an attribute name after '.', got {attr}");
        }
        // '[' subscript: an index, a slice start:stop:step, or a tuple key.
        Expr? start = null, stop = null, step = null;
        var isSlice = false;
        if (!Current.IsOp(":")) start = ParseExpression();
        if (Current.IsOp(":"))
        {
            isSlice = true;
            Next();
            if (!Current.IsOp("]") && !Current.IsOp(":")) stop = ParseExpression();
            if (Current.IsOp(":"))
            {
                Next();
                if (!Current.IsOp("]")) step = ParseExpression();
            }
        }
        if (!isSlice && Current.IsOp(","))
        {
            var keys = new List<Expr> { start! };
            while (Current.IsOp(","))
            {
                Next();
                if (Current.IsOp("]")) break;
                keys.Add(ParseExpression());
            }
            start = new TupleExpr(t.Line, keys);
        }
        Expect(TokenKind.Operator, "]", "']'");
        return isSlice ? new SliceExpr(t.Line, node, start, stop, step) : new GetItemExpr(t.Line, node, start!);
    }

    private CallArgs ParseCallArgs()
    {
        Expect(TokenKind.Operator, "(", "'('");
        var positional = new List<Expr>();
        var keyword = new List<(string, Expr)>();
        var first = true;
        while (!Current.IsOp(")"))
        {
            if (!first) Expect(TokenKind.Operator, ",", "',' between arguments");
            first = false;
            if (Current.IsOp(")")) break;
            if (Current.IsOp("*") || Current.IsOp("**"))
                throw Error(Current, $"unsupported construct: '{Current.Value}' argument unpacking in calls");
            if (Current.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                var name = Next().Value;
                Next();
                keyword.Add((name, ParseExpression()));
            }
            else
            {
                if (keyword.Count > 0) throw Error(Current, "syntax error: positional argument follows keyword argument");
                positional.Add(ParseExpression());
            }
        }
        Next();
        return new CallArgs(positional, keyword);
    }

    private string ParseDottedName(string what)
    {
        var name = ExpectName(what);
        while (Current.IsOp(".") && Peek().Kind == TokenKind.Name)
        {
            Next();
            name += "." + Next().Value;
        }
        return name;
    }

    private FilterCall ParseFilterCall()
    {
        var t = Current;
        var name = ParseDottedName("a filter name");
        if (!Filters.IsKnown(name)) throw Error(t, $"unsupported construct: no filter named '{name}'");
        var args = Current.IsOp("(") ? ParseCallArgs() : CallArgs.Empty;
        return new FilterCall(t.Line, name, args);
    }

    private Expr ParseTest(Expr node)
    {
        var line = Next().Line; // 'is'
        var negated = false;
        if (Current.IsName("not"))
        {
            Next();
            negated = true;
        }
        var t = Current;
        var name = ParseDottedName("a test name after 'is'");
        if (!Tests.IsKnown(name)) throw Error(t, $"unsupported construct: no test named '{name}'");
        CallArgs args = CallArgs.Empty;
        if (Current.IsOp("(")) args = ParseCallArgs();
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || Current.IsOp("(") || Current.IsOp("[") || Current.IsOp("{"))
                 && !(Current.IsName("else") || Current.IsName("or") || Current.IsName("and")))
        {
            if (Current.IsName("is")) throw Error(Current, "syntax error: you cannot chain multiple tests with 'is'");
            var arg = ParsePostfix(ParsePrimary());
            args = new CallArgs([arg], []);
        }
        return new TestExpr(line, node, name, args, negated);
    }
}
