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
    /// and <paramref name="state"/>; returns its folder. <paramref name="extraFiles"/> adds files (tokenizer, config)
    /// to the folder before it is renamed into place.
    /// </summary>
    public static string Save(string outputDir, ITrainableWeights weights, OptimizerHelper optimizer, TrainerState state,
        int keepLast, Action<string>? extraFiles = null)
    {
        Directory.CreateDirectory(outputDir);
        string final = Path.Combine(outputDir, $"checkpoint-{state.Step}");
        RemoveTornWrites(outputDir);
        string name = Path.GetFileName(final);
        AtomicFile.WriteDirectory(final, tmp =>
        {
            weights.Save(tmp); // fills tmp with the weights (an HF folder, or an adapter folder)
            CrashPoints.Reach($"{name}/weights");
            optimizer.save_state_dict(Path.Combine(tmp, OptimizerFile));
            CrashPoints.Reach($"{name}/optimizer");
            state.Write(Path.Combine(tmp, StateFile));
            extraFiles?.Invoke(tmp);
        });
        CrashPoints.Reach($"{name}/renamed"); // complete, but "latest" still names the previous checkpoint
        AtomicFile.WriteAllText(Path.Combine(outputDir, LatestFile), name);
        Prune(outputDir, keepLast, final);
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

    /// <summary>
    /// Deletes temporary checkpoint folders (<c>.checkpoint-N.tmp-PID-...</c>) left by a process that died mid-write
    /// (PID no longer running); they were never named by <c>latest</c>, so nothing refers to them.
    /// </summary>
    private static void RemoveTornWrites(string outputDir)
    {
        foreach (var dir in Directory.GetDirectories(outputDir, ".checkpoint-*" + AtomicFile.TempMarker + "*"))
        {
            int at = dir.LastIndexOf(AtomicFile.TempMarker, StringComparison.Ordinal) + AtomicFile.TempMarker.Length;
            if (int.TryParse(dir[at..].Split('-')[0], out int pid) && pid != Environment.ProcessId && ProcessIsAlive(pid)) continue;
            Directory.Delete(dir, true);
        }
    }

    private static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; } // no such process
    }

    /// <summary>
    /// Keeps <paramref name="latest"/> (just written, named by <c>latest</c>) and the newest other checkpoints up to
    /// <paramref name="keepLast"/> in all. After a resume from an older checkpoint, newer step numbers may exist;
    /// they never push out the checkpoint the run continues from.
    /// </summary>
    private static void Prune(string outputDir, int keepLast, string latest)
    {
        if (keepLast <= 0) return;
        var steps = Directory.GetDirectories(outputDir, "checkpoint-*")
            .Where(d => !string.Equals(Path.GetFullPath(d), Path.GetFullPath(latest), StringComparison.Ordinal))
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)["checkpoint-".Length..], out var n), N: n))
            .Where(x => x.Ok).OrderByDescending(x => x.N).Skip(keepLast - 1);
        foreach (var s in steps) Directory.Delete(s.Dir, true);
    }
}
