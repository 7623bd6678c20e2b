namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>
/// A chat template could not be parsed or rendered: a syntax error, an unsupported Jinja construct, or a
/// runtime error (type error, use of an undefined value). The message names the construct and the template line.
/// </summary>
public class ChatTemplateException : AlignSharpException
{
    /// <summary>Creates the exception; the message is prefixed with the 1-based template <paramref name="line"/> (0 when unknown).</summary>
    public ChatTemplateException(string message, int line, Exception? inner = null)
        : base(line > 0 ? $"chat template line {line}: {message}" : $"chat template: {message}", inner)
    {
        Line = line;
    }

    /// <summary>For subtypes whose message is the template's own text, used verbatim.</summary>
    private protected ChatTemplateException(int line, string verbatimMessage)
        : base(verbatimMessage)
    {
        Line = line;
    }

    /// <summary>1-based line in the template source where the error arose (0 when unknown).</summary>
    public int Line { get; }
}

/// <summary>
/// The template itself rejected the conversation by calling <c>raise_exception(message)</c>; <see cref="Exception.Message"/>
/// is exactly the template's message (as Hugging Face's <c>TemplateError(message)</c>), and <see cref="ChatTemplateException.Line"/>
/// says where it was raised.
/// </summary>
public sealed class ChatTemplateRaisedException : ChatTemplateException
{
    /// <summary>Creates the exception with the template's own message.</summary>
    public ChatTemplateRaisedException(string message, int line) : base(line, message) { }
}
