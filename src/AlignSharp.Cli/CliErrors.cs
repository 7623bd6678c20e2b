namespace AlignSharp.Cli;

/// <summary>Decides which exceptions are the user's input problems (one line, exit 1) rather than bugs.</summary>
internal static class CliErrors
{
    /// <summary>
    /// True for exceptions whose message already names the file, line or key at fault, and for I/O errors (a full disk,
    /// a folder that cannot be written), whose message names the path: one line and exit 1, never a stack trace.
    /// </summary>
    public static bool IsUserError(Exception e) =>
        e is AlignSharp.AlignSharpException or IOException or UnauthorizedAccessException
          or InvalidDataException or AlignSharp.Runtime.NativeRuntimeException;
}
