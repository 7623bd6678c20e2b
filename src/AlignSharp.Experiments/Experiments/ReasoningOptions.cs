namespace AlignSharp.Experiments;

/// <summary>
/// Settings of the reasoning experiment (whole-solution DPO vs Step-DPO vs SCDPO on arithmetic word problems), with
/// presets in one place: <see cref="Test"/> (seconds, for the test suite) and <see cref="Quick"/> (minutes).
/// </summary>
public sealed record ReasoningOptions
{
    /// <summary>The three methods: an objective id each, trained on its own pairs.</summary>
    public static IReadOnlyList<string> AllMethods { get; } = ["dpo", "step_dpo", "scdpo"];

    /// <summary>Preset name, written into the report.</summary>
    public string Preset { get; init; } = "custom";

    /// <summary>Seed of the base model, the held-out problems and the first replicate.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Replicates: each draws its own training problems, samples, pairs and batch order (seed + r).</summary>
    public int Seeds { get; init; } = 2;

    /// <summary>Intra-op threads for libtorch (0 keeps libtorch's default).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Methods to run (ids of <see cref="AllMethods"/>).</summary>
    public IReadOnlyList<string> Methods { get; init; } = AllMethods;

    // Task and base model.
    /// <summary>Most events (equations) per problem, 1-4.</summary>
    public int MaxEvents { get; init; } = 3;
    /// <summary>Hidden size of the byte-level GPT-2 base model.</summary>
    public int Hidden { get; init; } = 64;
    /// <summary>Transformer layers of the base model.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Solved problems in the SFT corpus.</summary>
    public int CorpusSize { get; init; } = 4000;
    /// <summary>Optimizer steps of SFT on the corpus (from a fresh model).</summary>
    public int PretrainSteps { get; init; } = 1500;
    /// <summary>Sequences per SFT step.</summary>
    public int PretrainBatch { get; init; } = 16;
    /// <summary>Peak learning rate of SFT.</summary>
    public double PretrainLearningRate { get; init; } = 3e-3;
    /// <summary>Longest sampled solution in tokens (bytes).</summary>
    public int MaxNewTokens { get; init; } = 60;

    // Pairs.
    /// <summary>Training problems per replicate.</summary>
    public int TrainProblems { get; init; } = 384;
    /// <summary>Solutions sampled per training problem from the base model (temperature 1).</summary>
    public int SamplesPerProblem { get; init; } = 4;
    /// <summary>SCDPO: regenerations tried per problem until one ends in a wrong final answer.</summary>
    public int Regenerations { get; init; } = 4;
    /// <summary>SCDPO: sampling temperature of the regenerations (the paper's starting value).</summary>
    public double RegenerationTemperature { get; init; } = 1.1;

    // Preference training.
    /// <summary>β of every method (one value, so the methods differ only in their pairs).</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>Optimizer steps per run.</summary>
    public int Steps { get; init; } = 120;
    /// <summary>Pairs per step.</summary>
    public int Batch { get; init; } = 16;
    /// <summary>Learning rate of preference training (constant after warm-up).</summary>
    public double LearningRate { get; init; } = 1e-4;

    // Evaluation.
    /// <summary>Held-out problems (none of them in the SFT corpus or a replicate's training problems).</summary>
    public int EvalProblems { get; init; } = 300;
    /// <summary>Samples per held-out problem at temperature 1 (besides the greedy solution).</summary>
    public int EvalSamples { get; init; } = 1;

    /// <summary>Seconds-long settings for the test suite.</summary>
    public static ReasoningOptions Test { get; } = new()
    {
        Preset = "test", Seeds = 1, Hidden = 32, Layers = 1, CorpusSize = 400, PretrainSteps = 40, PretrainBatch = 16,
        TrainProblems = 24, SamplesPerProblem = 2, Regenerations = 2, Steps = 4, Batch = 4, LearningRate = 1e-3,
        EvalProblems = 12, EvalSamples = 1,
    };

    /// <summary>The quick preset: three methods x two replicates from one SFT base.</summary>
    public static ReasoningOptions Quick { get; } = new() { Preset = "quick" };

    /// <summary>A preset by name: test or quick.</summary>
    public static ReasoningOptions ForPreset(string name) => name switch
    {
        "test" => Test,
        "quick" => Quick,
        _ => throw new ExperimentException($"unknown preset '{name}' (known: test, quick)"),
    };

    /// <summary>Checks every setting; the error names the first bad one.</summary>
    public void Validate()
    {
        void Positive(string name, double value)
        {
            if (!(value > 0)) throw new ExperimentException($"setting '{name}' must be > 0, got {value}");
        }
        Positive("seeds", Seeds); Positive("hidden", Hidden); Positive("layers", Layers);
        Positive("corpus_size", CorpusSize); Positive("pretrain_steps", PretrainSteps);
        Positive("pretrain_batch", PretrainBatch); Positive("pretrain_learning_rate", PretrainLearningRate);
        Positive("max_new_tokens", MaxNewTokens); Positive("train_problems", TrainProblems);
        Positive("samples_per_problem", SamplesPerProblem); Positive("regenerations", Regenerations);
        Positive("regeneration_temperature", RegenerationTemperature); Positive("beta", Beta);
        Positive("steps", Steps); Positive("batch", Batch); Positive("learning_rate", LearningRate);
        Positive("eval_problems", EvalProblems); Positive("eval_samples", EvalSamples);
        if (Hidden % 4 != 0)
            throw new ExperimentException($"setting 'hidden' must be a multiple of 4 (the head count), got {Hidden}");
        if (MaxEvents is < 1 or > 4) throw new ExperimentException($"setting 'max_events' must be in 1..4, got {MaxEvents}");
        if (Methods.Count == 0) throw new ExperimentException("setting 'methods' lists no method");
        foreach (var m in Methods)
            if (!AllMethods.Contains(m))
                throw new ExperimentException($"unknown method '{m}' (known: {string.Join(", ", AllMethods)})");
    }
}
