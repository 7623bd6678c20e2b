using AlignSharp.Adapters;
using AlignSharp.Distributed;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using AlignSharp.Training;

namespace AlignSharp.Runs;

/// <summary>A run built by <see cref="RunBuilder"/>: everything the trainer works on, and the output folder.</summary>
public sealed class PreparedRun : IDisposable
{
    private readonly ITrainingObserver observer;

    internal PreparedRun(RunConfig config, ITokenizer tokenizer, ComputeTarget target, TrainingSetup setup, ITrainingObserver observer)
    {
        Config = config;
        Tokenizer = tokenizer;
        Target = target;
        Setup = setup;
        this.observer = observer;
    }

    /// <summary>The run's LoRA adapter on the frozen policy, or null for full fine-tuning.</summary>
    public LoraAdapter? Adapter { get; init; }

    /// <summary>
    /// The reward head on the policy (Direct Preference Heads), or the reward model of a reward run
    /// (<see cref="IsRewardModel"/>); null otherwise. It shares the policy's decoder.
    /// </summary>
    public RewardModel? Head { get; init; }

    /// <summary>OREO's value head on the policy, trained and checkpointed with it; null for other objectives.</summary>
    public Objectives.TokenLevel.ValueHead? ValueHead { get; init; }

    /// <summary>True for a reward run: <see cref="Head"/> is the model trained, saved as a reward-model folder.</summary>
    public bool IsRewardModel { get; init; }

    /// <summary>The configuration the run was built from.</summary>
    public RunConfig Config { get; }

    /// <summary>The run's tokenizer.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>Device and dtype of the run's models.</summary>
    public ComputeTarget Target { get; }

    /// <summary>Policy, reference, objective, data and pad id.</summary>
    public TrainingSetup Setup { get; }

    /// <summary>The model being trained.</summary>
    public CausalLM Policy => Setup.Policy;

    /// <summary>
    /// The reference as a model when the run holds one as a frozen copy (<c>reference: frozen</c>, and every run of
    /// <see cref="RunBuilder.BuildWithoutData"/>); null for cached, adapter-disabled and absent references.
    /// </summary>
    public CausalLM? ReferenceModel => (Setup.Reference as FrozenReference)?.Model;

    /// <summary>Where metrics, checkpoints and the final model go.</summary>
    public string OutputDir => Config.OutputDir;

    /// <summary>The trained model's folder: <c>&lt;output_dir&gt;/final</c>.</summary>
    public string FinalDir => Path.Combine(OutputDir, "final");

    /// <summary>
    /// Claims the output folder (one run per folder, <see cref="RunFolder"/>: a folder held by a live run is refused, and
    /// a fresh run refuses a folder that already holds one; a resume is refused when the config differs from the run's
    /// saved one in a key a resume may not change), trains to the last step (from <paramref name="resume"/>: "latest"
    /// or a checkpoint folder, when given), saves the policy as a Hugging Face folder in <see cref="FinalDir"/> (in
    /// the run's dtype, with the tokenizer's files), releases the folder and returns the metrics log. To overwrite a
    /// run or resume with a changed config, claim the folder with <see cref="RunFolder.Claim"/> and call
    /// <see cref="TrainIn"/>.
    /// </summary>
    /// <param name="resume">"latest" or a checkpoint folder, or null to start fresh.</param>
    /// <param name="collectives">
    /// The ranks of a data-parallel job (when null, those the run was built with: one process unless given to
    /// <see cref="RunBuilder.Build"/>); only rank 0 writes, and claims the folder.
    /// </param>
    /// <exception cref="RunFolderException">The folder is held by a live run, holds a run, or the config changed.</exception>
    public IReadOnlyList<Dictionary<string, double>> Train(string? resume = null, ICollectives? collectives = null)
    {
        var comm = collectives ?? Setup.Collectives;
        using var folder = comm.Rank == 0
            ? RunFolder.Claim(Config, RunFolder.ModeFor(resume, overwrite: false), false, observer.OnMessage) : null;
        comm.Barrier(); // the folder is claimed before any rank reads a checkpoint from it
        return TrainIn(folder, resume, comm);
    }

    /// <summary>
    /// <see cref="Train"/> in an output folder the caller claimed (<see cref="RunFolder.Claim"/>, e.g. to overwrite a
    /// run; released by the caller). <paramref name="folder"/> is null on ranks other than 0, which never write.
    /// </summary>
    /// <exception cref="ArgumentException">On rank 0, <paramref name="folder"/> is not this run's claimed output folder.</exception>
    public IReadOnlyList<Dictionary<string, double>> TrainIn(RunFolder? folder, string? resume = null,
        ICollectives? collectives = null)
    {
        var comm = collectives ?? Setup.Collectives;
        if (comm.Rank == 0 && (folder is null || folder.Dir != Path.GetFullPath(OutputDir)))
            throw new ArgumentException($"rank 0 trains in a claimed output folder ({OutputDir}); got " +
                (folder?.Dir ?? "none"), nameof(folder));
        var trainer = new PreferenceTrainer(Setup with { Collectives = comm }, Config.Training, OutputDir, observer)
        {
            OutputFiles = dir => RunOutputFiles.WriteInto(dir, Config),
        };
        string? from = resume is null ? null : TrainingCheckpoint.Resolve(OutputDir, resume);
        var log = trainer.Run(from);
        if (comm.Rank != 0) return log;
        if (Adapter is not null)
        {
            PeftAdapterFolder.Save(Adapter, FinalDir, Config.Model.Path);
            RunOutputFiles.WriteInto(FinalDir, Config);
            if (ValueHead is not null) ValueHeadWeights.SaveHead(ValueHead, FinalDir);
            observer.OnMessage($"saved the trained adapter (PEFT format) in {FinalDir}; fold it into the base with "
                + "'alignsharp adapters merge'");
            return log;
        }
        if (IsRewardModel && Head is not null)
        {
            string? source = RunTokenizer.Folder(RunTokenizer.SpecOf(Config));
            var options = new HfSaveOptions { SourceDir = source is not null && Directory.Exists(source) ? source : null };
            RewardModelFolder.Save(Head, FinalDir, options);
            RunOutputFiles.WriteInto(FinalDir, Config);
            observer.OnMessage($"saved the trained reward model ({Head.Backbone.Config.Family
                .SequenceClassificationArchitecture(Head.Backbone.Config)}): {FinalDir}");
            return log;
        }
        SaveFinal();
        return log;
    }

    /// <summary>
    /// Saves the policy as a Hugging Face folder in <see cref="FinalDir"/> (in the run's dtype, with the tokenizer's
    /// files when the tokenizer is a folder).
    /// </summary>
    public void SaveFinal()
    {
        string? source = RunTokenizer.Folder(RunTokenizer.SpecOf(Config));
        HfCheckpoint.Save(Policy, FinalDir,
            new HfSaveOptions { SourceDir = source is not null && Directory.Exists(source) ? source : null });
        if (Head is not null) PolicyWithHeadWeights.SaveHead(Head, FinalDir); // written atomically beside the weights
        if (ValueHead is not null) ValueHeadWeights.SaveHead(ValueHead, FinalDir);
        RunOutputFiles.WriteInto(FinalDir, Config); // tokenizer (the byte one too) and resolved config: usable alone
        observer.OnMessage($"saved the trained model as a Hugging Face folder: {FinalDir}");
    }

    /// <summary>Releases the policy and the reference (a cached reference saves its new rows first).</summary>
    public void Dispose()
    {
        Setup.Reference.Dispose();
        Adapter?.Dispose();
        ValueHead?.Dispose();
        if (Head is not null) Head.Dispose(); // the head and the policy under it
        else Setup.Policy.Dispose();
    }
}
