namespace AlignSharp.Cli;

/// <summary>Decides which exceptions are the user's input problems (one line, exit 1) rather than bugs.</summary>
internal static class CliErrors
{
    /// <summary>True for exceptions whose message already names the file, line or key at fault.</summary>
    public static bool IsUserError(Exception e) =>
        e is AlignSharp.AlignSharpException or FileNotFoundException or DirectoryNotFoundException
          or InvalidDataException or AlignSharp.Runtime.NativeRuntimeException;
}
