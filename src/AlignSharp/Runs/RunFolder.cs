using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AlignSharp.Config;
using AlignSharp.IO;
using AlignSharp.Training;

namespace AlignSharp.Runs;

/// <summary>How a run may use an output folder that already holds a run.</summary>
public enum RunFolderMode
{
    /// <summary>A new run: the folder must not hold a run yet.</summary>
    Fresh,
    /// <summary>A new run replacing the one in the folder (its checkpoints, final model and metrics are deleted).</summary>
    Overwrite,
    /// <summary>Continuing the run in the folder from a checkpoint.</summary>
    Resume,
}

/// <summary>The output folder is held by a live run, holds a run that would be overwritten, or a resume changes the config.</summary>
public sealed class RunFolderException(string message) : AlignSharpException(message);

/// <summary>
/// One run per output folder. Claiming a folder takes its lock file (<c>.alignsharp.lock</c>: the holder's pid and
/// start time; a lock whose process is gone is stale and taken over), refuses a folder that already holds a run
/// unless overwriting or resuming, and on resume compares the config with the one the run saved
/// (<c>run_config.json</c>), refusing changed keys other than those a resume may change. Dispose releases the lock.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The lock file's name.</summary>
    public const string LockFile = ".alignsharp.lock";

    /// <summary>The saved effective config's name.</summary>
    public const string ConfigFile = "run_config.json";

    /// <summary>Config keys a resume may change: how long to go on, and how often to log, evaluate and save.</summary>
    public static readonly IReadOnlySet<string> ResumableKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "training.max_steps", "training.save_steps", "training.save_total_limit", "training.logging_steps", "training.eval_steps",
    };

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
    };

    /// <summary>Lock files held by this process (a second claim from the same process is refused too).</summary>
    private static readonly HashSet<string> Held = new(StringComparer.Ordinal);

    private readonly string lockPath;
    private readonly string owner;

    private RunFolder(string dir, string lockPath, string owner)
    {
        Dir = dir;
        this.lockPath = lockPath;
        this.owner = owner;
    }

    /// <summary>The output folder.</summary>
    public string Dir { get; }

    /// <summary>
    /// The mode of a run started with <paramref name="resume"/> ("latest", a checkpoint folder, or null) and
    /// <paramref name="overwrite"/>: resuming and overwriting together is an error.
    /// </summary>
    public static RunFolderMode ModeFor(string? resume, bool overwrite) => (resume, overwrite) switch
    {
        (not null, true) => throw new RunFolderException(
            "--resume continues the run in output_dir and --overwrite replaces it: give one"),
        (not null, false) => RunFolderMode.Resume,
        (null, true) => RunFolderMode.Overwrite,
        _ => RunFolderMode.Fresh,
    };

    /// <summary>
    /// Takes only the lock of <paramref name="dir"/> (created when missing): for a folder that holds several runs and
    /// caches, such as an experiment's, whose runs are claimed one by one inside it. A live holder is refused; a stale
    /// lock is taken over (said through <paramref name="message"/>). Dispose releases it.
    /// </summary>
    public static RunFolder Lock(string dir, Action<string> message)
    {
        string full = Path.GetFullPath(dir);
        Directory.CreateDirectory(full);
        return TakeLock(full, message);
    }

    /// <summary>
    /// Claims <paramref name="config"/>'s output folder for a run in <paramref name="mode"/>; messages (a stale lock
    /// taken over, a config key changed on resume) go to <paramref name="message"/>.
    /// </summary>
    public static RunFolder Claim(RunConfig config, RunFolderMode mode, bool allowConfigChange, Action<string> message)
    {
        string dir = Path.GetFullPath(config.OutputDir);
        Directory.CreateDirectory(dir);
        var folder = TakeLock(dir, message);
        try
        {
            var flat = Flatten(config);
            string saved = Path.Combine(dir, ConfigFile);
            if (mode == RunFolderMode.Resume)
            {
                if (File.Exists(saved)) CheckConfig(saved, flat, allowConfigChange, message);
            }
            else if (HoldsRun(dir) is { } what)
            {
                if (mode == RunFolderMode.Fresh)
                    throw new RunFolderException($"{dir} already holds a run ({what}); pass --resume latest to continue it, " +
                        "--overwrite to replace it, or choose another output_dir");
                Clear(dir);
                message($"--overwrite: removed the previous run in {dir}");
            }
            AtomicFile.WriteAllText(saved, new JsonObject(flat.Select(kv =>
                KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))).ToJsonString(Json));
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The effective config as flat <c>section.key</c> -> JSON text pairs (objectives as <c>objectives[i].name</c>);
    /// where a value was written (file:line) is not part of it.
    /// </summary>
    public static SortedDictionary<string, string> Flatten(RunConfig config)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(string prefix, JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o)
                        if (k is not ("where" or "param_where")) Walk(prefix.Length == 0 ? k : $"{prefix}.{k}", v);
                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++) Walk($"{prefix}[{i}]", a[i]);
                    break;
                default:
                    result[prefix] = node?.ToJsonString() ?? "null";
                    break;
            }
        }
        Walk("", JsonSerializer.SerializeToNode(config, Json));
        return result;
    }

    /// <summary>Releases the lock (when this process still holds it).</summary>
    public void Dispose()
    {
        lock (Held) Held.Remove(lockPath);
        try
        {
            if (File.Exists(lockPath) && File.ReadAllText(lockPath).Trim() == owner) File.Delete(lockPath);
        }
        catch (IOException) { } // releasing is best effort: a leftover lock of a dead process is stale anyway
    }

    private static void CheckConfig(string saved, SortedDictionary<string, string> now, bool allow, Action<string> message)
    {
        Dictionary<string, string> before;
        try
        {
            before = JsonNode.Parse(File.ReadAllText(saved))!.AsObject()
                .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            if (!allow)
                throw new RunFolderException($"{saved}: damaged saved config ({e.Message}); pass --allow-config-change " +
                    "to resume anyway");
            message($"{saved}: damaged saved config, not compared (--allow-config-change)");
            return;
        }
        var changed = now.Keys.Union(before.Keys).Where(k => now.GetValueOrDefault(k) != before.GetValueOrDefault(k))
            .Order(StringComparer.Ordinal).ToList();
        string Describe(string k) => $"{k}: {before.GetValueOrDefault(k) ?? "(unset)"} -> {now.GetValueOrDefault(k) ?? "(unset)"}";
        var refused = changed.Where(k => !ResumableKeys.Contains(k)).ToList();
        if (refused.Count > 0 && !allow)
            throw new RunFolderException($"the config differs from the one the run in {Path.GetDirectoryName(saved)} was " +
                $"started with: {string.Join("; ", refused.Select(Describe))}. A resumed run would not continue the same " +
                "run; pass --allow-config-change to resume anyway");
        foreach (var k in changed) message($"resume with a changed config: {Describe(k)}");
    }

    /// <summary>What shows that <paramref name="dir"/> holds a run (metrics.jsonl, latest, final/, a checkpoint), or null.</summary>
    public static string? HoldsRun(string dir)
    {
        if (!Directory.Exists(dir)) return null;
        if (File.Exists(Path.Combine(dir, "metrics.jsonl"))) return "metrics.jsonl";
        if (File.Exists(Path.Combine(dir, "latest"))) return "latest";
        if (Directory.Exists(Path.Combine(dir, "final"))) return "final/";
        return Directory.GetDirectories(dir, "checkpoint-*").Select(Path.GetFileName).FirstOrDefault() is { } c
            ? c + "/" : null;
    }

    /// <summary>Deletes a previous run's outputs (never other files the user keeps in the folder).</summary>
    private static void Clear(string dir)
    {
        foreach (var d in Directory.GetDirectories(dir, "checkpoint-*").Concat(Directory.GetDirectories(dir, ".checkpoint-*")))
            Directory.Delete(d, true);
        if (Directory.Exists(Path.Combine(dir, "final"))) Directory.Delete(Path.Combine(dir, "final"), true);
        foreach (var f in new[] { "metrics.jsonl", "latest", ConfigFile, TrainResults.FileName, "loss.png" })
            File.Delete(Path.Combine(dir, f));
        string events = Path.Combine(dir, PreferenceTrainer.TensorBoardDir);
        if (Directory.Exists(events))
            foreach (var f in Directory.GetFiles(events, "events.out.tfevents.*")) File.Delete(f);
    }

    private static RunFolder TakeLock(string dir, Action<string> message)
    {
        string path = Path.Combine(dir, LockFile);
        using var me = Process.GetCurrentProcess();
        string owner = $"{Environment.ProcessId} {StartTicks(me)}";
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using (var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    f.Write(System.Text.Encoding.UTF8.GetBytes(owner + "\n"));
                lock (Held) Held.Add(path);
                return new RunFolder(dir, path, owner);
            }
            catch (IOException) when (File.Exists(path) && attempt < 2)
            {
                string holder;
                try { holder = File.ReadAllText(path).Trim(); }
                catch (IOException) { continue; } // being written or removed right now: look again
                var parts = holder.Split(' ');
                int pid = parts.Length > 0 && int.TryParse(parts[0], out var p) ? p : -1;
                bool heldHere;
                lock (Held) heldHere = Held.Contains(path);
                if (pid > 0 && (pid == Environment.ProcessId ? heldHere : IsAlive(pid, parts.Length > 1 ? parts[1] : "")))
                    throw new RunFolderException($"{dir} is in use by another run (process {pid}, lock file {path}); " +
                        "wait for it to finish or choose another output_dir");
                File.Delete(path);
                message(pid == Environment.ProcessId
                    ? $"took over {path} from an earlier run in this process"
                    : $"removed a stale lock {path} (process {(pid > 0 ? pid.ToString(CultureInfo.InvariantCulture) : "?")} is gone)");
            }
        }
    }

    /// <summary>True when process <paramref name="pid"/> runs and started when the lock says (pids are reused).</summary>
    private static bool IsAlive(int pid, string startTicks)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            return !long.TryParse(startTicks, out var ticks) || Math.Abs(StartTicks(p) - ticks) < TimeSpan.TicksPerSecond * 2;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static long StartTicks(Process p) => p.StartTime.ToUniversalTime().Ticks;
}
