using System.Diagnostics;
using System.Text;
using AlignSharp.Cli;

namespace AlignSharp.Tests.Distributed;

/// <summary>
/// Starts the <c>alignsharp</c> command under the system's real <c>mpirun</c> (Open MPI) and collects its output.
/// Open MPI refuses to run as root and to place more ranks than cores without a flag, so both flags are passed
/// (harmless otherwise): CI runs as root on 2 cores.
/// </summary>
internal static class MpiRun
{
    /// <summary>The mpirun on PATH, or null.</summary>
    public static string? Launcher { get; } = FindOnPath("mpirun");

    /// <summary>Why MPI tests cannot run here, or null when they can.</summary>
    public static string? Missing => Launcher is null
        ? "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it)"
        : null;

    /// <summary>The result of one launch.</summary>
    public sealed record Result(int ExitCode, string Output, bool TimedOut);

    /// <summary>
    /// Runs <c>mpirun -np <paramref name="ranks"/> dotnet AlignSharp.Cli.dll ARGS</c>; stdout and stderr are merged.
    /// <paramref name="onStarted"/> sees the mpirun process (to interfere with a running job).
    /// </summary>
    public static Result Cli(int ranks, IEnumerable<string> args, TimeSpan timeout, Action<Process>? onStarted = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(Launcher ?? throw new InvalidOperationException(Missing))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString() }) psi.ArgumentList.Add(a);
        foreach (var a in new[] { DotnetHost(), typeof(CliApp).Assembly.Location }.Concat(args)) psi.ArgumentList.Add(a);
        return Run(psi, timeout, onStarted, environment);
    }

    /// <summary>Runs the command in one process, without mpirun.</summary>
    public static Result Single(IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { typeof(CliApp).Assembly.Location }.Concat(args)) psi.ArgumentList.Add(a);
        return Run(psi, timeout, null, environment);
    }

    private static Result Run(ProcessStartInfo psi, TimeSpan timeout, Action<Process>? onStarted,
        IReadOnlyDictionary<string, string>? environment)
    {
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var output = new StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        onStarted?.Invoke(p);
        bool done = p.WaitForExit(timeout);
        if (!done) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        lock (output) return new Result(done ? p.ExitCode : -1, output.ToString(), !done);
    }

    /// <summary>The dotnet host running these tests (so the CLI runs on the same runtime).</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
            : "dotnet";

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}

/// <summary>A fact that needs a real <c>mpirun</c>; skipped, with the reason, only when mpirun is absent.</summary>
internal sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiRun.Missing is { } reason) Skip = reason;
    }
}
