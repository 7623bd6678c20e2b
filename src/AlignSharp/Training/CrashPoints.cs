using System.Diagnostics;

namespace AlignSharp.Training;

/// <summary>
/// Named places where the reliability tests kill a run (SIGKILL, as the OOM killer or a power cut would) to check
/// that what is on disk stays consistent: <c>ALIGNSHARP_CRASH_AT=checkpoint-3/weights</c> kills the process right
/// after it wrote the weights of checkpoint 3. Unset (always, outside those tests), a crash point does nothing.
/// </summary>
internal static class CrashPoints
{
    /// <summary>The environment variable naming the armed point.</summary>
    public const string Variable = "ALIGNSHARP_CRASH_AT";

    /// <summary>
    /// The environment variable naming a point where the process pauses: it prints <c>paused at NAME</c> and waits
    /// for a line on standard input, so a test can send it a signal at an exact place.
    /// </summary>
    public const string PauseVariable = "ALIGNSHARP_PAUSE_AT";

    private static readonly string? Armed = Environment.GetEnvironmentVariable(Variable);
    private static readonly string? PauseAt = Environment.GetEnvironmentVariable(PauseVariable);

    /// <summary>True when a point is armed (callers skip building names otherwise).</summary>
    public static bool Enabled => Armed is not null || PauseAt is not null;

    /// <summary>Kills the process (or pauses it) when <paramref name="name"/> is the armed point.</summary>
    public static void Reach(string name)
    {
        if (string.Equals(PauseAt, name, StringComparison.Ordinal))
        {
            Console.WriteLine($"paused at {name}");
            Console.Out.Flush();
            Console.In.ReadLine();
        }
        if (Armed is null || !string.Equals(Armed, name, StringComparison.Ordinal)) return;
        Console.Out.Flush();
        Process.GetCurrentProcess().Kill(); // SIGKILL on Linux: no finalizers, no flushing, no cleanup
    }
}
