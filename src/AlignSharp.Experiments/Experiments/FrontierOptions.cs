namespace AlignSharp.Experiments;

/// <summary>One objective of the frontier and the β values it is trained at (each objective reads β on its own scale).</summary>
/// <param name="Id">Objective id in the catalog.</param>
/// <param name="Betas">β values, one training run each.</param>
/// <param name="Parameters">Other catalog parameters (e.g. label_smoothing), as strings.</param>
public sealed record FrontierMethod(string Id, IReadOnlyList<double> Betas, IReadOnlyDictionary<string, string>? Parameters = null);

/// <summary>
/// Settings of the reward-vs-KL frontier experiment, with presets in one place: <see cref="Test"/> (seconds, for the
/// test suite), <see cref="Quick"/> (minutes) and <see cref="Full"/>.
/// </summary>
public sealed record FrontierOptions
{
    /// <summary>Preset name, written into the report.</summary>
    public string Preset { get; init; } = "custom";

    /// <summary>Seed of everything: corpus, model init, sampling, labels, shuffling.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Intra-op threads for libtorch (0 keeps libtorch's default). One thread is the default: these models are too small to gain from more, and a shared machine makes libtorch's thread pool spin.</summary>
    public int Threads { get; init; } = 1;

    // Base model.
    /// <summary>Hidden size of the byte-level GPT-2 base model.</summary>
    public int Hidden { get; init; } = 64;
    /// <summary>Transformer layers of the base model.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Reviews in the pretraining/SFT corpus.</summary>
    public int CorpusSize { get; init; } = 4000;
    /// <summary>Optimizer steps of base-model training.</summary>
    public int PretrainSteps { get; init; } = 400;
    /// <summary>Sequences per pretraining step.</summary>
    public int PretrainBatch { get; init; } = 32;
    /// <summary>Peak learning rate of base-model training.</summary>
    public double PretrainLearningRate { get; init; } = 3e-3;

    // Preference data.
    /// <summary>Training pairs sampled from the base model and labelled by Bradley-Terry on the ground-truth reward.</summary>
    public int TrainPairs { get; init; } = 1024;
    /// <summary>Held-out pairs for implicit-reward accuracy.</summary>
    public int EvalPairs { get; init; } = 256;
    /// <summary>Inverse temperature of the Bradley-Terry labels.</summary>
    public double LabelScale { get; init; } = 5.0;
    /// <summary>Longest sampled completion in tokens (bytes).</summary>
    public int MaxNewTokens { get; init; } = 48;

    // Preference training.
    /// <summary>Objectives and their β grids.</summary>
    public IReadOnlyList<FrontierMethod> Methods { get; init; } = [];
    /// <summary>Optimizer steps per run.</summary>
    public int Steps { get; init; } = 128;
    /// <summary>Pairs per step.</summary>
    public int Batch { get; init; } = 16;
    /// <summary>Peak learning rate of preference training.</summary>
    public double LearningRate { get; init; } = 5e-5;
    /// <summary>Evaluate every this many steps (and at the end).</summary>
    public int EvalEvery { get; init; } = 32;

    // Evaluation.
    /// <summary>Held-out prompts sampled at each evaluation.</summary>
    public int EvalPrompts { get; init; } = 64;
    /// <summary>Samples per held-out prompt at each evaluation.</summary>
    public int SamplesPerPrompt { get; init; } = 2;
    /// <summary>Best-of-N baseline sizes.</summary>
    public IReadOnlyList<int> BestOfN { get; init; } = [1, 2, 4, 8, 16];

    /// <summary>The six objectives of the issue with three β values each.</summary>
    public static IReadOnlyList<FrontierMethod> StandardMethods { get; } =
    [
        new("dpo", [0.05, 0.1, 0.5]),
        new("ipo", [0.1, 0.5, 1.0]),
        new("cdpo", [0.05, 0.1, 0.5], new Dictionary<string, string> { ["label_smoothing"] = "0.1" }),
        new("simpo", [1.0, 2.0, 5.0]),
        new("hinge", [0.05, 0.1, 0.5]),
        new("robust_dpo", [0.05, 0.1, 0.5], new Dictionary<string, string> { ["label_smoothing"] = "0.1" }),
    ];

    /// <summary>Seconds-long settings for the test suite: a very small model and one objective.</summary>
    public static FrontierOptions Test { get; } = new()
    {
        Preset = "test", Hidden = 32, Layers = 1, CorpusSize = 400, PretrainSteps = 30, PretrainBatch = 16,
        TrainPairs = 64, EvalPairs = 16, MaxNewTokens = 24, Methods = [new("dpo", [0.1, 0.5])],
        Steps = 6, Batch = 8, EvalEvery = 3, EvalPrompts = 8, SamplesPerPrompt = 1, BestOfN = [1, 2, 4],
    };

    /// <summary>The quick preset: six objectives x three β, under 15 minutes on 2 cores.</summary>
    public static FrontierOptions Quick { get; } = new() { Preset = "quick", Methods = StandardMethods };

    /// <summary>The full preset: a larger corpus and pair set, longer runs, five β values, more evaluation samples.</summary>
    public static FrontierOptions Full { get; } = new()
    {
        Preset = "full", CorpusSize = 8000, PretrainSteps = 800, TrainPairs = 4096, EvalPairs = 512,
        Steps = 512, EvalEvery = 64, EvalPrompts = 128, SamplesPerPrompt = 4, BestOfN = [1, 2, 4, 8, 16, 32, 64],
        Methods =
        [
            new("dpo", [0.02, 0.05, 0.1, 0.3, 1.0]),
            new("ipo", [0.05, 0.1, 0.5, 1.0, 2.0]),
            new("cdpo", [0.02, 0.05, 0.1, 0.3, 1.0], new Dictionary<string, string> { ["label_smoothing"] = "0.1" }),
            new("simpo", [0.5, 1.0, 2.0, 5.0, 10.0]),
            new("hinge", [0.02, 0.05, 0.1, 0.3, 1.0]),
            new("robust_dpo", [0.02, 0.05, 0.1, 0.3, 1.0], new Dictionary<string, string> { ["label_smoothing"] = "0.1" }),
        ],
    };

    /// <summary>A preset by name: test, quick or full.</summary>
    public static FrontierOptions ForPreset(string name) => name switch
    {
        "test" => Test,
        "quick" => Quick,
        "full" => Full,
        _ => throw new ExperimentException($"unknown preset '{name}' (known: test, quick, full)"),
    };

    /// <summary>Checks every setting; the error names the first bad one.</summary>
    public void Validate()
    {
        void Positive(string name, double value)
        {
            if (!(value > 0)) throw new ExperimentException($"setting '{name}' must be > 0, got {value}");
        }
        Positive("hidden", Hidden); Positive("layers", Layers); Positive("corpus_size", CorpusSize);
        Positive("pretrain_steps", PretrainSteps); Positive("pretrain_batch", PretrainBatch); Positive("pretrain_learning_rate", PretrainLearningRate);
        Positive("train_pairs", TrainPairs); Positive("eval_pairs", EvalPairs); Positive("max_new_tokens", MaxNewTokens);
        Positive("steps", Steps); Positive("batch", Batch); Positive("learning_rate", LearningRate); Positive("eval_every", EvalEvery);
        Positive("eval_prompts", EvalPrompts); Positive("samples_per_prompt", SamplesPerPrompt);
        if (Hidden % 4 != 0) throw new ExperimentException($"setting 'hidden' must be a multiple of 4 (the head count), got {Hidden}");
        if (Methods.Count == 0) throw new ExperimentException("setting 'methods' lists no objective");
        foreach (var m in Methods)
        {
            if (m.Betas.Count == 0) throw new ExperimentException($"method '{m.Id}' lists no beta");
            foreach (var b in m.Betas) Positive($"{m.Id} beta", b);
        }
        foreach (var n in BestOfN) Positive("best_of_n", n);
    }
}
