namespace AlignSharp.Experiments;

/// <summary>
/// Settings of the online-vs-offline experiment (<see cref="OnlineExperiment"/>), with presets in one place:
/// <see cref="Test"/> (seconds, for the test suite) and <see cref="Quick"/> (minutes).
/// </summary>
/// <remarks>
/// A label is one preference judgement between two completions (one comparison by the judge, asked in both orders).
/// Every method gets <see cref="Labels"/> of them, spent in <see cref="Iterations"/> equal rounds (OAIF: one
/// optimizer step of <see cref="Batch"/> fresh pairs at a time); with two samples per prompt a label is a pair, with
/// SPPO's four samples a prompt costs six labels.
/// </remarks>
public sealed record OnlineExperimentOptions
{
    /// <summary>Preset name, written into the report.</summary>
    public string Preset { get; init; } = "custom";

    /// <summary>Seed of everything: base model, prompts, sampling, batch order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Intra-op threads for libtorch (0 keeps libtorch's default).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// The base model (corpus, size, pretraining) and the sampling length, as the frontier experiment builds them
    /// (<see cref="FrontierOptions"/>; its preference-training settings are not used).
    /// </summary>
    public FrontierOptions Base { get; init; } = FrontierOptions.Quick;

    /// <summary>Preference labels every method may use in total.</summary>
    public int Labels { get; init; } = 960;

    /// <summary>Equal rounds the labels are spent in (offline, iterative DPO, SPPO); the evaluation points.</summary>
    public int Iterations { get; init; } = 4;

    /// <summary>Pairs per optimizer step (and OAIF's prompts per step).</summary>
    public int Batch { get; init; } = 16;

    /// <summary>Learning rate of every method (constant, AdamW).</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>β of DPO (offline, OAIF, iterative, DICE) and of DICE's implicit reward.</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>β of the catalog's sppo objective: targets (P - 1/2) / β nats of log-ratio.</summary>
    public double SppoBeta { get; init; } = 0.1;

    /// <summary>Samples per prompt for SPPO's win-probability estimates (n(n-1)/2 labels per prompt).</summary>
    public int SppoSamples { get; init; } = 4;

    /// <summary>DICE's rounds after offline DPO (no labels: implicit rewards).</summary>
    public int DiceIterations { get; init; } = 2;

    /// <summary>Samples per prompt in DICE's rounds.</summary>
    public int DiceSamples { get; init; } = 4;

    /// <summary>DICE's per-token length penalty on implicit rewards.</summary>
    public double DiceLengthPenalty { get; init; } = 0.01;

    /// <summary>DICE's replay: earlier rounds' pairs as a share of the new ones.</summary>
    public double DiceReplay { get; init; } = 0.5;

    /// <summary>Held-out prompts sampled at each evaluation.</summary>
    public int EvalPrompts { get; init; } = 128;

    /// <summary>Samples per held-out prompt at each evaluation.</summary>
    public int SamplesPerPrompt { get; init; } = 2;

    /// <summary>The methods compared, in report order.</summary>
    public IReadOnlyList<string> Methods { get; init; } = AllMethods;

    /// <summary>Every method of the experiment.</summary>
    public static IReadOnlyList<string> AllMethods { get; } = ["offline_dpo", "online_dpo", "iterative_dpo", "dice", "sppo"];

    /// <summary>Labels spent per round.</summary>
    public int LabelsPerIteration => Labels / Iterations;

    /// <summary>Seconds-long settings for the test suite: the frontier's test base model and a few dozen labels.</summary>
    public static OnlineExperimentOptions Test { get; } = new()
    {
        Preset = "test", Labels = 96, Iterations = 2, Batch = 8,
        Base = FrontierOptions.Test with { PretrainSteps = 200, CorpusSize = 1000, PretrainLearningRate = 0.01 },
        LearningRate = 1e-3, DiceIterations = 1, EvalPrompts = 16, SamplesPerPrompt = 2,
    };

    /// <summary>The quick preset: the frontier's quick base model, 960 labels in 4 rounds; under 15 minutes.</summary>
    public static OnlineExperimentOptions Quick { get; } = new() { Preset = "quick" };

    /// <summary>A preset by name: test or quick.</summary>
    public static OnlineExperimentOptions ForPreset(string name) => name switch
    {
        "test" => Test,
        "quick" => Quick,
        _ => throw new ExperimentException($"unknown preset '{name}' (known: test, quick)"),
    };

    /// <summary>Checks every setting; the error names the first bad one.</summary>
    public void Validate()
    {
        void Check(bool ok, string message)
        {
            if (!ok) throw new ExperimentException(message);
        }
        Base.Validate();
        Check(Labels > 0, $"setting 'labels' must be > 0, got {Labels}");
        Check(Iterations > 0, $"setting 'iterations' must be > 0, got {Iterations}");
        Check(Batch > 0, $"setting 'batch' must be > 0, got {Batch}");
        int pairsPerPrompt = SppoSamples * (SppoSamples - 1) / 2;
        Check(Labels % Iterations == 0 && LabelsPerIteration % Batch == 0 && LabelsPerIteration % pairsPerPrompt == 0,
            $"setting 'labels' ({Labels}) must split into {Iterations} rounds of a multiple of the batch ({Batch}) and "
            + $"of SPPO's {pairsPerPrompt} comparisons per prompt");
        Check(LearningRate > 0, $"setting 'learning_rate' must be > 0, got {LearningRate}");
        Check(Beta > 0, $"setting 'beta' must be > 0, got {Beta}");
        Check(SppoBeta > 0, $"setting 'sppo_beta' must be > 0, got {SppoBeta}");
        Check(SppoSamples >= 2, $"setting 'sppo_samples' must be >= 2, got {SppoSamples}");
        Check(DiceSamples >= 2, $"setting 'dice_samples' must be >= 2, got {DiceSamples}");
        Check(DiceIterations > 0, $"setting 'dice_iterations' must be > 0, got {DiceIterations}");
        Check(EvalPrompts > 0, $"setting 'eval_prompts' must be > 0, got {EvalPrompts}");
        Check(SamplesPerPrompt > 0, $"setting 'samples_per_prompt' must be > 0, got {SamplesPerPrompt}");
        Check(Methods.Count > 0, "setting 'methods' lists no method");
        foreach (var m in Methods)
            Check(AllMethods.Contains(m), $"unknown method '{m}' (known: {string.Join(", ", AllMethods)})");
        Check(!Methods.Contains("dice") || Methods.Contains("offline_dpo"),
            "method 'dice' starts from offline_dpo's policy: keep offline_dpo in the methods");
    }
}
