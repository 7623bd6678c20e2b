using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Tokenization.ChatTemplates;

internal enum TokenKind
{
    Data,          // literal template text
    VariableBegin, // {{
    VariableEnd,   // }}
    BlockBegin,    // {%
    BlockEnd,      // %}
    Name,
    String,
    Integer,
    Float,
    Operator,
    Eof,
}

internal readonly record struct Token(TokenKind Kind, string Value, int Line, object? Literal = null)
{
    public bool IsName(string name) => Kind == TokenKind.Name && Value == name;

    public bool IsOp(string op) => Kind == TokenKind.Operator && Value == op;

    public override string ToString() => Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.Data => "template text",
        TokenKind.String => $"string {PyRepr.Repr(Literal)}",
        _ => $"'{Value}'",
    };
}

/// <summary>
/// Splits a template into tokens the way Jinja2's lexer does under Hugging Face's settings:
/// newlines normalised (one trailing newline dropped, keep_trailing_newline=False), trim_blocks and lstrip_blocks,
/// whitespace control with '-' and '+', comments removed, {% raw %} kept literal, and string literals unescaped.
/// </summary>
internal sealed class Lexer
{
    private static readonly Regex RawBegin = new(@"\G\{%([-+]?)\s*raw\s*([-+]?)%\}", RegexOptions.CultureInvariant);
    private static readonly Regex RawEnd = new(@"\{%([-+]?)\s*endraw\s*([-+]?)%\}", RegexOptions.CultureInvariant);
    private static readonly Regex FloatRe = new(@"\G(\d+_)*\d+((\.(\d+_)*\d+)?e[+\-]?(\d+_)*\d+|\.(\d+_)*\d+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
    private static readonly Regex IntRe = new(@"\G(\d+_)*\d+", RegexOptions.CultureInvariant);
    private static readonly Regex NameRe = new(@"\G[a-zA-Z_][a-zA-Z0-9_]*", RegexOptions.CultureInvariant);
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private readonly string _src;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private bool _lineStarting = true;

    private Lexer(string source) => _src = NormalizeNewlines(source);

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    /// <summary>Jinja joins <c>source.splitlines()</c> with "\n": every line break becomes "\n" and one trailing break is dropped.</summary>
    internal static string NormalizeNewlines(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') { sb.Append('\n'); i++; }
            else if (c is '\r' or '\n' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029') sb.Append('\n');
            else sb.Append(c);
        }
        if (sb.Length > 0 && sb[^1] == '\n') sb.Length--;
        return sb.ToString();
    }

    private int LineAt(int pos)
    {
        _lineStarts ??= [0, .. _src.Select((c, i) => (c, i)).Where(t => t.c == '\n').Select(t => t.i + 1)];
        var idx = _lineStarts.BinarySearch(pos);
        return (idx >= 0 ? idx : ~idx - 1) + 1;
    }

    private List<int>? _lineStarts;

    private void Run()
    {
        while (_pos < _src.Length)
        {
            var next = FindTagStart(_pos);
            if (next < 0)
            {
                AddData(_src[_pos..], _pos);
                _pos = _src.Length;
                break;
            }
            var text = _src[_pos..next];
            var opener = _src[next + 1]; // '{', '%' or '#'
            var sign = next + 2 < _src.Length && _src[next + 2] is '-' or '+' ? _src[next + 2] : '\0';
            text = ApplyLeftStrip(text, sign, isVariable: opener == '{');
            AddData(text, _pos);

            if (opener == '%' && RawBegin.Match(_src, next) is { Success: true } raw)
            {
                LexRaw(next, raw);
                continue;
            }
            _pos = next + 2 + (sign != '\0' ? 1 : 0);
            switch (opener)
            {
                case '#': LexComment(next); break;
                case '%': LexTag(TokenKind.BlockBegin, TokenKind.BlockEnd, "%}", next); break;
                default: LexTag(TokenKind.VariableBegin, TokenKind.VariableEnd, "}}", next); break;
            }
        }
        _tokens.Add(new Token(TokenKind.Eof, "", LineAt(_src.Length)));
    }

    private int FindTagStart(int from)
    {
        for (var i = from; i + 1 < _src.Length; i++)
        {
            if (_src[i] == '{' && _src[i + 1] is '{' or '%' or '#') return i;
        }
        return -1;
    }

    /// <summary>'-' strips all whitespace before the tag; otherwise lstrip_blocks removes spaces/tabs that start the line.</summary>
    private string ApplyLeftStrip(string text, char sign, bool isVariable)
    {
        if (sign == '-') return TrimEndPy(text);
        if (sign == '+' || isVariable) return text;
        var lPos = text.LastIndexOf('\n') + 1;
        if (lPos > 0 || _lineStarting)
        {
            var rest = text.AsSpan(lPos);
            if (!rest.ContainsAnyExcept(' ', '\t')) return text[..lPos];
        }
        return text;
    }

    private static string TrimEndPy(string s)
    {
        var end = s.Length;
        while (end > 0 && StringMethods.IsPySpace(s[end - 1])) end--;
        return s[..end];
    }

    private int SkipWhitespace(int pos)
    {
        while (pos < _src.Length && StringMethods.IsPySpace(_src[pos])) pos++;
        return pos;
    }

    private void AddData(string text, int at)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, LineAt(at)));
    }

    private void LexRaw(int start, Match raw)
    {
        var line = LineAt(start);
        var end = RawEnd.Match(_src, raw.Index + raw.Length);
        if (!end.Success) throw new ChatTemplateException("unclosed '{% raw %}' block (missing '{% endraw %}')", line);
        var body = _src[(raw.Index + raw.Length)..end.Index];
        // Jinja does not apply trim_blocks after {% raw %}; '-' strips, and the {% endraw %} tag strips like any block tag.
        if (raw.Groups[2].Value == "-") body = body[(SkipWhitespace(raw.Index + raw.Length) - raw.Index - raw.Length)..];
        _lineStarting = false;
        body = ApplyLeftStrip(body, end.Groups[1].Value is { Length: 1 } s ? s[0] : '\0', isVariable: false);
        AddData(body, raw.Index + raw.Length);
        _pos = end.Index + end.Length;
        if (end.Groups[2].Value == "-") _pos = SkipWhitespace(_pos);
        else if (end.Groups[2].Value != "+" && _pos < _src.Length && _src[_pos] == '\n') _pos++;
        _lineStarting = _pos > 0 && _src[_pos - 1] == '\n';
    }

    private void LexComment(int start)
    {
        var close = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (close < 0) throw new ChatTemplateException("unclosed comment (missing '#}')", LineAt(start));
        var stripAfter = close > _pos && _src[close - 1] == '-';
        var keepNewline = close > _pos && _src[close - 1] == '+';
        _pos = close + 2;
        if (stripAfter) _pos = SkipWhitespace(_pos);
        else if (!keepNewline && _pos < _src.Length && _src[_pos] == '\n') _pos++;
        _lineStarting = _pos > 0 && _src[_pos - 1] == '\n';
    }

    private void LexTag(TokenKind begin, TokenKind endKind, string close, int start)
    {
        var line = LineAt(start);
        _tokens.Add(new Token(begin, begin == TokenKind.BlockBegin ? "{%" : "{{", line));
        var depth = 0;
        while (true)
        {
            _pos = SkipWhitespace(_pos);
            if (_pos >= _src.Length) throw new ChatTemplateException($"unexpected end of template: tag opened here is never closed with '{close}'", line);
            var tokLine = LineAt(_pos);
            if (depth == 0 && TryLexTagEnd(close, endKind, tokLine)) return;
            var c = _src[_pos];
            if (c is '\'' or '"')
            {
                var (value, length) = ReadString(_pos, tokLine);
                _tokens.Add(new Token(TokenKind.String, _src.Substring(_pos, length), tokLine, value));
                _pos += length;
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                var f = FloatRe.Match(_src, _pos);
                if (f.Success && (_pos == 0 || _src[_pos - 1] != '.'))
                {
                    var v = double.Parse(f.Value.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture);
                    _tokens.Add(new Token(TokenKind.Float, f.Value, tokLine, v));
                    _pos += f.Length;
                    continue;
                }
                var m = IntRe.Match(_src, _pos);
                var digits = m.Value.Replace("_", "");
                object lit = long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? (object)l
                    : BigInteger.Parse(digits, CultureInfo.InvariantCulture); // Python ints are unbounded
                _tokens.Add(new Token(TokenKind.Integer, m.Value, tokLine, lit));
                _pos += m.Length;
                continue;
            }
            var name = NameRe.Match(_src, _pos);
            if (name.Success)
            {
                _tokens.Add(new Token(TokenKind.Name, name.Value, tokLine));
                _pos += name.Length;
                continue;
            }
            var op = Operators.FirstOrDefault(o => string.CompareOrdinal(_src, _pos, o, 0, o.Length) == 0)
                ?? throw new ChatTemplateException($"unexpected character '{c}' in tag", tokLine);
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}" && depth > 0) depth--;
            _tokens.Add(new Token(TokenKind.Operator, op, tokLine));
            _pos += op.Length;
        }
    }

    private bool TryLexTagEnd(string close, TokenKind endKind, int line)
    {
        var sign = _src[_pos] is '-' or '+' ? _src[_pos] : '\0';
        var at = _pos + (sign != '\0' ? 1 : 0);
        if (string.CompareOrdinal(_src, at, close, 0, close.Length) != 0) return false;
        _pos = at + close.Length;
        if (sign == '-') _pos = SkipWhitespace(_pos);
        else if (sign != '+' && endKind == TokenKind.BlockEnd && _pos < _src.Length && _src[_pos] == '\n') _pos++; // trim_blocks
        _lineStarting = _pos > 0 && _src[_pos - 1] == '\n';
        _tokens.Add(new Token(endKind, close, line));
        return true;
    }

    /// <summary>Reads a quoted literal and decodes Python escape sequences (as Jinja's unicode-escape decoding does).</summary>
    private (string Value, int Length) ReadString(int start, int line)
    {
        var quote = _src[start];
        var sb = new StringBuilder();
        var i = start + 1;
        while (true)
        {
            if (i >= _src.Length) throw new ChatTemplateException("unterminated string literal", line);
            var c = _src[i];
            if (c == quote) return (sb.ToString(), i - start + 1);
            if (c != '\\' || i + 1 >= _src.Length)
            {
                sb.Append(c);
                i++;
                continue;
            }
            var e = _src[i + 1];
            i += 2;
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(ReadHex(ref i, 2, line)); break;
                case 'u': sb.Append(ReadHex(ref i, 4, line)); break;
                case 'U': sb.Append(ReadHex(ref i, 8, line)); break;
                case >= '0' and <= '7':
                    var oct = e - '0';
                    for (var k = 0; k < 2 && i < _src.Length && _src[i] is >= '0' and <= '7'; k++, i++) oct = oct * 8 + (_src[i] - '0');
                    sb.Append(char.ConvertFromUtf32(oct));
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }
    }

    private string ReadHex(ref int i, int count, int line)
    {
        if (i + count > _src.Length || !int.TryParse(_src.AsSpan(i, count), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
            throw new ChatTemplateException($"truncated \\{(count == 2 ? "x" : count == 4 ? "u" : "U")} escape in string literal", line);
        i += count;
        // As in Python: \u and \U may name a lone surrogate (a string may hold one); past U+10FFFF is an error.
        if (code is < 0 or > 0x10FFFF)
            throw new ChatTemplateException($"escape \\U{code:X8} in string literal is past U+10FFFF", line);
        return code <= 0xFFFF ? ((char)code).ToString() : char.ConvertFromUtf32(code);
    }
}
