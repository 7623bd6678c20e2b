using System.Globalization;
using AlignSharp.Data;

namespace AlignSharp.Training;

/// <summary>What the trainer does when a step's loss or gradient is NaN or infinite (<c>training.on_nonfinite</c>).</summary>
public enum NonFinitePolicy
{
    /// <summary>Stop the run with an error naming the step and the batch's source lines (the default).</summary>
    Stop,
    /// <summary>Skip the step's update (no optimizer step) and go on; skips are counted in the metrics.</summary>
    SkipBatch,
}

/// <summary>
/// A run stopped at a step whose loss or gradient was not finite. Nothing of that step was applied or written:
/// the last checkpoint on disk is the last good state.
/// </summary>
public sealed class NonFiniteException(string message) : AlignSharpException(message);

/// <summary>
/// Checks every optimizer step before it is applied: the micro-batch losses and the gradient norm must be finite.
/// Under <see cref="NonFinitePolicy.Stop"/> a bad step throws <see cref="NonFiniteException"/>; under
/// <see cref="NonFinitePolicy.SkipBatch"/> it is counted (metric <see cref="SkippedMetric"/>) and not applied.
/// </summary>
internal sealed class NonFiniteGuard(NonFinitePolicy policy, ITrainingObserver observer)
{
    /// <summary>Name of the metric counting skipped steps since the run (or resume) started.</summary>
    public const string SkippedMetric = "nonfinite_skipped";

    private const int MaxSourcesShown = 8;

    /// <summary>Steps skipped so far.</summary>
    public int Skipped { get; private set; }

    /// <summary>Whether skips are counted in the metrics (only under skip_batch; a stopping run has none).</summary>
    public bool Reports => policy == NonFinitePolicy.SkipBatch;

    /// <summary>
    /// True when step <paramref name="step"/> (1-based) may be applied; otherwise throws or counts a skip.
    /// <paramref name="sources"/> are the records of the step's batches, for the message.
    /// </summary>
    public bool Accept(int step, IReadOnlyList<double> losses, double gradNorm, IEnumerable<SourceLocation> sources)
    {
        bool lossOk = losses.All(double.IsFinite);
        if (lossOk && double.IsFinite(gradNorm)) return true;
        string what = lossOk
            ? $"gradient (norm {Format(gradNorm)})"
            : $"loss ({string.Join(", ", losses.Select(Format))})";
        var list = sources.ToList();
        string where = string.Join(", ", list.Take(MaxSourcesShown).Select(s => s.ToString()))
            + (list.Count > MaxSourcesShown ? $" and {list.Count - MaxSourcesShown} more" : "");
        if (policy == NonFinitePolicy.Stop)
            throw new NonFiniteException($"step {step}: non-finite {what} on the batch of {where}. Nothing of this step " +
                "was applied or written; the last checkpoint is the last good state. Set training.on_nonfinite: " +
                "skip_batch to skip such batches instead.");
        Skipped++;
        observer.OnMessage($"step {step}: skipped (non-finite {what} on the batch of {where})");
        return false;
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
