using System.Diagnostics;
using System.Text;

namespace AlignSharp.Tests.Reliability;

/// <summary>What a child CLI process did: its exit code (137 after SIGKILL) and output.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr, bool Killed);

/// <summary>
/// Runs the built CLI (<c>dotnet AlignSharp.Cli.dll ...</c>) as a child process, as a user's shell would, so a test can
/// kill it with SIGKILL or send it a signal.
/// </summary>
internal static class CliProcess
{
    /// <summary>The CLI assembly: copied next to the tests by the project reference, else the CLI project's output.</summary>
    public static string Dll { get; } = FindDll();

    private static string FindDll()
    {
        string here = Path.Combine(AppContext.BaseDirectory, "AlignSharp.Cli.dll");
        if (File.Exists(here) && File.Exists(Path.Combine(AppContext.BaseDirectory, "AlignSharp.Cli.runtimeconfig.json")))
            return here;
        // tests/AlignSharp.Tests/bin/<Configuration>/<tfm>/ -> src/AlignSharp.Cli/bin/<Configuration>/<tfm>/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string cli = Path.Combine(TestSetup.RepoRoot, "src", "AlignSharp.Cli", "bin", baseDir.Parent!.Name, baseDir.Name,
            "AlignSharp.Cli.dll");
        return File.Exists(cli) ? cli : throw new InvalidOperationException($"the built CLI was not found ({here}, {cli})");
    }

    /// <summary>The dotnet host running this test process (the SDK sets DOTNET_HOST_PATH), else dotnet on PATH.</summary>
    private static string Host =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h
            : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    /// <summary>
    /// Runs the CLI with <paramref name="args"/> and extra environment; when <paramref name="killWhen"/> returns true
    /// for a line of standard output, the process is killed with SIGKILL at once; <paramref name="onLine"/> sees
    /// every line of standard output and error (and may write to the child's standard input). Fails after two minutes.
    /// </summary>
    public static CliRun Run(IEnumerable<string> args, IReadOnlyDictionary<string, string> env, Func<string, bool>? killWhen = null,
        Action<Process, string>? onLine = null)
    {
        var psi = new ProcessStartInfo(Host)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = TestSetup.RepoRoot,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        bool killed = false;
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            onLine?.Invoke(process, e.Data);
            if (killWhen?.Invoke(e.Data) == true && !killed)
            {
                killed = true;
                try { process.Kill(); } catch (InvalidOperationException) { } // already gone
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            onLine?.Invoke(process, e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"alignsharp {string.Join(' ', args)} did not finish in two minutes:\n{stdout}\n{stderr}");
        }
        process.WaitForExit(); // drains the output events
        lock (stdout) lock (stderr) return new CliRun(process.ExitCode, stdout.ToString(), stderr.ToString(), killed);
    }
}
