using System.Text;
using AlignSharp.Distributed;
using Microsoft.Win32.SafeHandles;

namespace AlignSharp.Cli;

/// <summary>
/// Console output of a process started by an MPI launcher. Open MPI gives each rank's stdout a pseudo-terminal and
/// relays what it reads to mpirun's own output (often a file or a pipe), so .NET takes the rank's stdout for a
/// terminal: its console set-up writes the terminal's keypad-mode sequence (<c>ESC[?1h ESC=</c> for xterm) before the
/// first line, and a live progress display would redraw into the relayed text. Ranks write plain text instead.
/// </summary>
internal static class LauncherConsole
{
    /// <summary>True when stdout and stderr were replaced by plain writers (the process runs under a launcher).</summary>
    public static bool Relayed { get; private set; }

    /// <summary>
    /// Under an MPI launcher, replaces <see cref="Console.Out"/> and <see cref="Console.Error"/> by writers on the
    /// raw file descriptors, which never start .NET's terminal handling. Call before anything writes.
    /// </summary>
    public static void UsePlainOutputUnderLauncher(Func<string, string?> variable)
    {
        if (Relayed || !Collectives.UnderMpiLauncher(variable)) return;
        Console.SetOut(Plain(1));
        Console.SetError(Plain(2));
        Relayed = true;
    }

    private static TextWriter Plain(int fd)
    {
        var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        return TextWriter.Synchronized(new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
    }
}
