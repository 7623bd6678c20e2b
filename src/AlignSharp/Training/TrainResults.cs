using System.Globalization;
using System.Text.Json.Nodes;
using AlignSharp.IO;

namespace AlignSharp.Training;

/// <summary>
/// The end-of-run summary Hugging Face's Trainer returns and saves as <c>train_results.json</c>: wall time of the
/// training loop in this process, throughput, the mean training loss over the steps it ran, and the epoch reached.
/// </summary>
/// <param name="TrainRuntime">Seconds spent in the training loop (evaluation and checkpoints included).</param>
/// <param name="TrainSamplesPerSecond">Examples trained on (pairs, or unpaired examples) per second.</param>
/// <param name="TrainStepsPerSecond">Optimizer steps per second.</param>
/// <param name="TrainLoss">Mean of the step losses of the steps this process ran (skipped steps excluded).</param>
/// <param name="Epoch">Passes over the training data at the end (fractional).</param>
/// <param name="Steps">Optimizer steps this process ran (a resumed run counts from its checkpoint).</param>
public sealed record TrainResults(double TrainRuntime, double TrainSamplesPerSecond, double TrainStepsPerSecond,
    double TrainLoss, double Epoch, int Steps)
{
    /// <summary>The file's name in the output folder.</summary>
    public const string FileName = "train_results.json";

    /// <summary>The results of <paramref name="steps"/> steps of <paramref name="samplesPerStep"/> examples each.</summary>
    public static TrainResults From(TimeSpan runtime, int steps, int samplesPerStep, double lossSum, int lossCount,
        double epoch)
    {
        double seconds = Math.Max(runtime.TotalSeconds, 1e-9);
        return new TrainResults(Math.Round(runtime.TotalSeconds, 4), Math.Round(steps * (double)samplesPerStep / seconds, 3),
            Math.Round(steps / seconds, 3), lossCount > 0 ? lossSum / lossCount : double.NaN, Math.Round(epoch, 4), steps);
    }

    /// <summary>The values under Hugging Face's names, in its order.</summary>
    public IReadOnlyDictionary<string, double> ToMetrics() => new Dictionary<string, double>
    {
        ["epoch"] = Epoch,
        ["train_loss"] = TrainLoss,
        ["train_runtime"] = TrainRuntime,
        ["train_samples_per_second"] = TrainSamplesPerSecond,
        ["train_steps_per_second"] = TrainStepsPerSecond,
    };

    /// <summary>Writes <c>train_results.json</c> in <paramref name="outputDir"/> atomically; returns its path.</summary>
    public string Write(string outputDir)
    {
        string path = Path.Combine(outputDir, FileName);
        var json = new JsonObject();
        foreach (var (k, v) in ToMetrics()) json[k] = double.IsFinite(v) ? JsonValue.Create(v) : null;
        AtomicFile.WriteAllText(path, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })
            + "\n");
        return path;
    }

    /// <summary>The one-line summary printed at the end of a run.</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"train_runtime {TrainRuntime:0.##} s, train_samples_per_second {TrainSamplesPerSecond:0.###}, " +
        $"train_steps_per_second {TrainStepsPerSecond:0.###}, train_loss {TrainLoss:0.####}, epoch {Epoch:0.##} " +
        $"({Steps} steps)");
}
