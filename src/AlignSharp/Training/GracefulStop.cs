using System.Runtime.InteropServices;

namespace AlignSharp.Training;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM during training: the trainer finishes the step it is in, writes a checkpoint at that
/// step boundary and stops with <see cref="TrainingStoppedException"/> (the CLI exits 130); <c>--resume latest</c>
/// continues exactly. A second signal terminates at once, as usual.
/// </summary>
public static class GracefulStop
{
    private static volatile bool requested;

    /// <summary>True once a stop was requested (by a signal or <see cref="Request"/>).</summary>
    public static bool Requested => requested;

    /// <summary>Asks the running trainer to stop at the next step boundary.</summary>
    public static void Request() => requested = true;

    /// <summary>Handles SIGINT and SIGTERM until disposed (which also clears a pending request).</summary>
    public static IDisposable Install(Action<string>? onFirstSignal = null)
    {
        void Handle(PosixSignalContext ctx)
        {
            if (requested) return; // second signal: default handling terminates the process
            ctx.Cancel = true;
            requested = true;
            onFirstSignal?.Invoke($"{ctx.Signal}: stopping after the current step (checkpoint first); signal again to abort");
        }
        return new Registrations(
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
        ]);
    }

    private sealed class Registrations(PosixSignalRegistration[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in items) r.Dispose();
            requested = false;
        }
    }
}

/// <summary>Training stopped on request at a step boundary after writing <see cref="Checkpoint"/>.</summary>
public sealed class TrainingStoppedException(int step, string checkpoint)
    : AlignSharpException($"stopped at step {step} on request; checkpoint saved: {checkpoint}; continue with --resume latest")
{
    /// <summary>Exit code of a run stopped by SIGINT/SIGTERM (128 + SIGINT), as shells report Ctrl-C.</summary>
    public const int ExitCode = 130;

    /// <summary>The last completed step.</summary>
    public int Step { get; } = step;

    /// <summary>The checkpoint folder written at <see cref="Step"/>.</summary>
    public string Checkpoint { get; } = checkpoint;
}
