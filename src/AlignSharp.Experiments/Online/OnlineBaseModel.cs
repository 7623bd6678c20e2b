using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Runs;
using AlignSharp.Tokenization;
using AlignSharp.Training;

namespace AlignSharp.Online;

/// <summary>
/// The starting model of a loop without <c>model.path</c>: with <c>online.base.pretrain_steps</c> &gt; 0, the fresh
/// model is first trained by next-token prediction on the task's corpus (BOS + prompt + solution + EOS) and saved in
/// <c>&lt;output_dir&gt;/base</c>; a later run with the same settings reuses it.
/// </summary>
internal static class OnlineBaseModel
{
    /// <summary>
    /// The run config to build the policy and reference from (model.path set to the base when one is made).
    /// </summary>
    public static RunConfig Ensure(OnlineConfig config, OnlineTaskSource task, ITrainingObserver observer)
    {
        var b = config.Online.Base;
        var run = config.Run;
        if (b.PretrainSteps == 0) return run;
        string dir = Path.Combine(run.OutputDir, "base");
        string fingerprintFile = Path.Combine(dir, "alignsharp_base.txt");
        var m = run.Model;
        string fingerprint = FormattableString.Invariant(
            $"task={task.Task} steps={b.PretrainSteps} corpus={b.CorpusSize} batch={b.BatchSize} ") +
            FormattableString.Invariant($"lr={b.LearningRate} seed={run.Training.Seed} hidden={m.HiddenSize} ") +
            FormattableString.Invariant($"layers={m.NumLayers} heads={m.NumHeads} positions={m.MaxPositions}");
        var withBase = run with { Model = run.Model with { Path = dir } };
        if (File.Exists(fingerprintFile) && File.ReadAllText(fingerprintFile) == fingerprint)
        {
            observer.OnMessage($"reusing the base model in {dir}");
            return withBase;
        }
        observer.OnMessage($"training a base model on the {task.Task.ToString().ToLowerInvariant()} corpus " +
            $"({b.PretrainSteps} steps, {b.CorpusSize} texts)");
        // An LM run of the composition root: the run's fresh model, trained on BOS + text + EOS by the one LM trainer.
        var lmRun = run with
        {
            Training = new TrainingOptions
            {
                MaxSteps = b.PretrainSteps, BatchSize = b.BatchSize, LearningRate = b.LearningRate,
                WarmupSteps = Math.Max(1, b.PretrainSteps / 20), Schedule = ScheduleKind.Cosine,
                Seed = run.Training.Seed, Threads = run.Training.Threads,
            },
            OutputDir = dir,
        };
        var corpus = task.Corpus(b.CorpusSize, unchecked((int)run.Training.Seed));
        using var model = RunBuilder.TrainLanguageModel(lmRun, corpus, (s, loss) =>
        {
            if (s % Math.Max(1, b.PretrainSteps / 4) == 0 || s == b.PretrainSteps)
                observer.OnMessage(FormattableString.Invariant(
                    $"  base step {s}/{b.PretrainSteps}: loss {loss:0.000}"));
        });
        AtomicFile.WriteDirectory(dir, tmp =>
        {
            HfCheckpoint.Save(model, tmp);
            // Written last: it marks the folder complete.
            File.WriteAllText(Path.Combine(tmp, Path.GetFileName(fingerprintFile)), fingerprint);
        });
        return withBase;
    }
}
