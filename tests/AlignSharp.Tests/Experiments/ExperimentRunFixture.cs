using AlignSharp.Tests.Cli;

namespace AlignSharp.Tests.Experiments;

/// <summary>
/// Runs one test-sized experiment once through the CLI for a test class (use it in the "Console" collection: it
/// redirects Console.Out), with --threads 0 so it never changes libtorch's process-wide thread count; the output
/// folder is deleted afterwards.
/// </summary>
public abstract class ExperimentRunFixture : IDisposable
{
    /// <summary>Runs <c>alignsharp experiment <paramref name="experiment"/> --preset test</c> into a fresh folder.</summary>
    protected ExperimentRunFixture(string experiment)
    {
        Dir = Directory.CreateTempSubdirectory($"alignsharp-{experiment}-experiment-").FullName;
        (ExitCode, Output, _) = CliConsole.Run("experiment", experiment, "--preset", "test", "--out", Dir, "--threads", "0");
    }

    /// <summary>The experiment's output folder.</summary>
    public string Dir { get; }

    /// <summary>The command's exit code.</summary>
    public int ExitCode { get; }

    /// <summary>What the command printed on standard output.</summary>
    public string Output { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
