using AlignSharp.Cli;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// Runs the CLI in this process with standard output and error captured, as the in-process command tests do
/// (classes using it belong to the "Console" collection, since the console is process-wide).
/// </summary>
internal static class CliConsole
{
    /// <summary>The exit code and what the command printed on each stream.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var o = new StringWriter();
        using var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = CliApp.Run(args);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }
}
