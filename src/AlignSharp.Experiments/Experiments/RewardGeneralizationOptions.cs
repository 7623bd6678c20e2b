namespace AlignSharp.Experiments;

/// <summary>
/// Settings of the DPORM-vs-EXRM experiment (<see cref="RewardGeneralizationExperiment"/>), with presets in one place:
/// <see cref="Test"/> (seconds, for the test suite) and <see cref="Quick"/> (minutes).
/// </summary>
public sealed record RewardGeneralizationOptions
{
    /// <summary>Preset name, written into the report.</summary>
    public string Preset { get; init; } = "custom";

    /// <summary>
    /// The frontier settings this experiment shares: the base model (trained, or reused from the same output folder,
    /// exactly as <c>experiment frontier</c> trains it), <c>Seed</c>, <c>Threads</c>, <c>LabelScale</c>, and the training
    /// budget of both reward models: <c>Steps</c> of <c>Batch</c> pairs, evaluated every <c>EvalEvery</c> steps; DPO at
    /// <c>LearningRate</c>, the explicit reward model at <c>RewardLearningRate</c> (its <c>RewardSteps</c> is ignored:
    /// both train for <c>Steps</c>).
    /// </summary>
    public FrontierOptions Frontier { get; init; } = FrontierOptions.Quick;

    /// <summary>Training pairs, written from <see cref="Tasks.ReviewSplit.Seen"/> and labelled by Bradley-Terry.</summary>
    public int TrainPairs { get; init; } = 1024;

    /// <summary>Test pairs per split (in-distribution and each shift); fewer remain when a pair's completions coincide.</summary>
    public int EvalPairs { get; init; } = 512;

    /// <summary>DPO's β values, one DPO run each (DPORM's scale; accuracy itself does not depend on β, training does).</summary>
    public IReadOnlyList<double> Betas { get; init; } = [0.1];

    /// <summary>Seconds-long settings for the test suite, on the frontier's test base model.</summary>
    public static RewardGeneralizationOptions Test { get; } = new()
    {
        Preset = "test",
        Frontier = FrontierOptions.Test with
        {
            PretrainSteps = 120, Steps = 48, Batch = 16, EvalEvery = 24, LearningRate = 1e-3, RewardLearningRate = 2e-3,
        },
        TrainPairs = 384, EvalPairs = 128,
    };

    /// <summary>
    /// The quick preset: the frontier's quick base model, 1,024 training pairs, 512 test pairs per split, 128 steps of
    /// 16 pairs for DPO (lr 5e-5, the frontier's) and the reward model (lr 1e-3, the frontier's), a few minutes on 2 cores.
    /// </summary>
    public static RewardGeneralizationOptions Quick { get; } = new()
    {
        Preset = "quick", Frontier = FrontierOptions.Quick with { EvalEvery = 32 },
    };

    /// <summary>A preset by name: test or quick.</summary>
    public static RewardGeneralizationOptions ForPreset(string name) => name switch
    {
        "test" => Test,
        "quick" => Quick,
        _ => throw new ExperimentException($"unknown preset '{name}' (known: test, quick)"),
    };

    /// <summary>Checks every setting; the error names the first bad one.</summary>
    public void Validate()
    {
        Frontier.Validate();
        if (TrainPairs < 1) throw new ExperimentException($"setting 'train_pairs' must be >= 1, got {TrainPairs}");
        if (EvalPairs < 1) throw new ExperimentException($"setting 'eval_pairs' must be >= 1, got {EvalPairs}");
        if (Betas.Count == 0) throw new ExperimentException("setting 'betas' lists no β");
        foreach (var b in Betas)
            if (!(b > 0)) throw new ExperimentException($"setting 'betas' must hold values > 0, got {b}");
        if (!(Frontier.RewardLearningRate > 0))
            throw new ExperimentException($"setting 'reward_learning_rate' must be > 0, got {Frontier.RewardLearningRate}");
    }
}
