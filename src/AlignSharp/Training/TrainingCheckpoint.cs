using AlignSharp.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AlignSharp.IO;

namespace AlignSharp.Training;

/// <summary>
/// A resumable checkpoint folder <c>checkpoint-N</c>: model weights and config, optimizer moments, and
/// <see cref="TrainerState"/>. Written into a temporary sibling folder and renamed into place, so an interrupted
/// save never damages the previous checkpoint; <c>latest</c> names the newest complete one.
/// </summary>
public static class TrainingCheckpoint
{
    private const string OptimizerFile = "optimizer.bin";
    private const string StateFile = "trainer_state.json";
    private const string LatestFile = "latest";

    /// <summary>Saves a checkpoint for <paramref name="state"/>.Step under <paramref name="outputDir"/>; returns its folder.</summary>
    public static string Save(string outputDir, CausalLM model, OptimizerHelper optimizer, TrainerState state, int keepLast) =>
        Save(outputDir, new FullModelWeights(model), optimizer, state, keepLast);

    /// <summary>
    /// Saves a checkpoint of <paramref name="weights"/> (the whole model, or an adapter only) with the optimizer moments
    /// and <paramref name="state"/>; returns its folder.
    /// </summary>
    public static string Save(string outputDir, ITrainableWeights weights, OptimizerHelper optimizer, TrainerState state,
        int keepLast)
    {
        Directory.CreateDirectory(outputDir);
        string final = Path.Combine(outputDir, $"checkpoint-{state.Step}");
        AtomicFile.WriteDirectory(final, tmp =>
        {
            weights.Save(tmp); // fills tmp with the weights (an HF folder, or an adapter folder)
            optimizer.save_state_dict(Path.Combine(tmp, OptimizerFile));
            state.Write(Path.Combine(tmp, StateFile));
        });
        AtomicFile.WriteAllText(Path.Combine(outputDir, LatestFile), Path.GetFileName(final));
        Prune(outputDir, keepLast);
        return final;
    }

    /// <summary>Resolves "latest" or a folder path to a complete checkpoint folder, or fails naming what is missing.</summary>
    public static string Resolve(string outputDir, string resume)
    {
        string dir = resume == "latest"
            ? Path.Combine(outputDir, File.Exists(Path.Combine(outputDir, LatestFile))
                ? File.ReadAllText(Path.Combine(outputDir, LatestFile)).Trim()
                : throw new AlignSharpException($"--resume latest: no checkpoint in {outputDir}"))
            : resume;
        foreach (var f in new[] { StateFile, OptimizerFile })
            if (!File.Exists(Path.Combine(dir, f))) throw new AlignSharpException($"{dir}: not a complete checkpoint ({f} missing)");
        return dir;
    }

    /// <summary>Restores weights and optimizer moments in place and returns the trainer state.</summary>
    public static TrainerState Load(string dir, CausalLM model, OptimizerHelper optimizer) =>
        Load(dir, new FullModelWeights(model), optimizer);

    /// <summary>Restores <paramref name="weights"/> and the optimizer moments in place and returns the trainer state.</summary>
    public static TrainerState Load(string dir, ITrainableWeights weights, OptimizerHelper optimizer)
    {
        weights.Load(dir);
        try { optimizer.load_state_dict(Path.Combine(dir, OptimizerFile)); }
        catch (ArgumentException e) { throw new AlignSharpException($"{dir}: optimizer state does not fit this model ({e.Message})"); }
        return TrainerState.Read(Path.Combine(dir, StateFile));
    }

    private static void Prune(string outputDir, int keepLast)
    {
        if (keepLast <= 0) return;
        var steps = Directory.GetDirectories(outputDir, "checkpoint-*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)["checkpoint-".Length..], out var n), N: n))
            .Where(x => x.Ok).OrderByDescending(x => x.N).Skip(keepLast);
        foreach (var s in steps) Directory.Delete(s.Dir, true);
    }
}
