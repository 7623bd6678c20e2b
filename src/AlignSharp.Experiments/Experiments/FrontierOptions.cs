namespace AlignSharp.Experiments;

/// <summary>
/// One objective of the frontier and the values of the catalog parameter swept for it: β by default (each objective
/// reads β on its own scale), another parameter (e.g. Unlikelihood's <c>alpha</c>), or none (one run, e.g. Preferred-FT).
/// </summary>
/// <param name="Id">Objective id in the catalog.</param>
/// <param name="Betas">Values of <paramref name="Knob"/>, one training run each (ignored, and may be empty, without a knob).</param>
/// <param name="Parameters">Other catalog parameters (e.g. label_smoothing), as strings.</param>
/// <param name="Knob">The catalog parameter <paramref name="Betas"/> sets ("beta" by default; "" for none).</param>
public sealed record FrontierMethod(string Id, IReadOnlyList<double> Betas, IReadOnlyDictionary<string, string>? Parameters = null,
    string Knob = "beta")
{
    /// <summary>The swept values: <see cref="Betas"/>, or a single NaN (one run) without a knob.</summary>
    public IReadOnlyList<double> Values => Knob.Length == 0 ? [double.NaN] : Betas;
}

/// <summary>
/// An RLHF baseline of the frontier and the KL coefficients it runs at (one run each): <c>ppo</c> against a reward
/// model trained on the frontier's pairs, <c>ppo_gt</c> against the ground-truth reward, <c>rloo</c> against the
/// same learned reward model.
/// </summary>
/// <param name="Id">ppo, ppo_gt or rloo.</param>
/// <param name="KlCoefs">TRL's <c>kl_coef</c> values, one run each.</param>
public sealed record FrontierRlMethod(string Id, IReadOnlyList<double> KlCoefs)
{
    /// <summary>The RL baselines the frontier knows.</summary>
    public static IReadOnlyList<string> Known { get; } = ["ppo", "ppo_gt", "rloo"];

    /// <summary>True when the method optimises the learned reward model (false: the ground truth).</summary>
    public bool UsesRewardModel => Id != "ppo_gt";
}

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

    // RLHF baselines (PPO with a learned reward model, PPO-GT, RLOO).
    /// <summary>RL baselines and their KL coefficients (empty: none, and no reward model is trained).</summary>
    public IReadOnlyList<FrontierRlMethod> RlMethods { get; init; } = [];
    /// <summary>Sampling rounds (optimizer steps for RLOO; PPO takes <see cref="RlPpoEpochs"/> per round) per RL run.</summary>
    public int RlSteps { get; init; } = 64;
    /// <summary>Prompts per PPO round (one sample each); RLOO samples <see cref="RlooK"/> per prompt of RlPromptsPerStep / RlooK prompts.</summary>
    public int RlPromptsPerStep { get; init; } = 16;
    /// <summary>RLOO's samples per prompt (<c>rloo_k</c>).</summary>
    public int RlooK { get; init; } = 4;
    /// <summary>PPO's passes over each round (<c>num_ppo_epochs</c>).</summary>
    public int RlPpoEpochs { get; init; } = 4;
    /// <summary>AdamW learning rate of the RL runs (constant).</summary>
    public double RlLearningRate { get; init; } = 1e-4;
    /// <summary>Evaluate the RL runs every this many rounds (and at the end).</summary>
    public int RlEvalEvery { get; init; } = 16;
    /// <summary>Optimizer steps of the reward model (Bradley-Terry on the train pairs, from the base model's decoder).</summary>
    public int RewardSteps { get; init; } = 128;
    /// <summary>Learning rate of the reward model.</summary>
    public double RewardLearningRate { get; init; } = 1e-3;

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

    /// <summary>The DPO paper's supervised baselines: Preferred-FT (one run) and Unlikelihood at two α.</summary>
    public static IReadOnlyList<FrontierMethod> BaselineMethods { get; } =
    [
        new("preferred_ft", [], Knob: ""),
        new("unlikelihood", [0.1, 1.0], Knob: "alpha"),
    ];

    /// <summary>PPO (learned reward model), PPO-GT and RLOO at two KL coefficients each.</summary>
    public static IReadOnlyList<FrontierRlMethod> StandardRlMethods { get; } =
    [
        new("ppo", [0.05, 0.2]),
        new("ppo_gt", [0.05, 0.2]),
        new("rloo", [0.05, 0.2]),
    ];

    /// <summary>Seconds-long settings for the test suite: a very small model, DPO, Preferred-FT, PPO and PPO-GT.</summary>
    public static FrontierOptions Test { get; } = new()
    {
        Preset = "test", Hidden = 32, Layers = 1, CorpusSize = 400, PretrainSteps = 30, PretrainBatch = 16,
        TrainPairs = 64, EvalPairs = 16, MaxNewTokens = 24, Methods = [new("dpo", [0.1, 0.5]), new("preferred_ft", [], Knob: "")],
        Steps = 6, Batch = 8, EvalEvery = 3, EvalPrompts = 8, SamplesPerPrompt = 1, BestOfN = [1, 2, 4],
        RlMethods = [new("ppo", [0.1]), new("ppo_gt", [0.1])], RlSteps = 4, RlPromptsPerStep = 4, RlEvalEvery = 2,
        RlLearningRate = 1e-3, RewardSteps = 8,
    };

    /// <summary>
    /// The quick preset: six objectives x three β, the two supervised baselines, and PPO, PPO-GT and RLOO at two KL
    /// coefficients each (with one reward model), under 25 minutes on 2 cores.
    /// </summary>
    public static FrontierOptions Quick { get; } = new()
    {
        Preset = "quick", Methods = [.. StandardMethods, .. BaselineMethods], RlMethods = StandardRlMethods,
    };

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
            .. BaselineMethods,
        ],
        RlMethods = StandardRlMethods, RlSteps = 256, RlEvalEvery = 32, RewardSteps = 512,
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
        if (Methods.Count == 0 && RlMethods.Count == 0) throw new ExperimentException("setting 'methods' lists no objective");
        foreach (var m in Methods)
        {
            if (m.Knob.Length == 0) continue;
            if (m.Betas.Count == 0) throw new ExperimentException($"method '{m.Id}' lists no {m.Knob}");
            foreach (var b in m.Betas) Positive($"{m.Id} {m.Knob}", b);
        }
        foreach (var n in BestOfN) Positive("best_of_n", n);
        foreach (var m in RlMethods)
        {
            if (!FrontierRlMethod.Known.Contains(m.Id))
                throw new ExperimentException($"unknown RL method '{m.Id}' (known: {string.Join(", ", FrontierRlMethod.Known)})");
            if (m.KlCoefs.Count == 0) throw new ExperimentException($"method '{m.Id}' lists no kl_coef");
            foreach (var k in m.KlCoefs)
                if (!(k >= 0)) throw new ExperimentException($"setting '{m.Id} kl_coef' must be >= 0, got {k}");
        }
        if (RlMethods.Count > 0)
        {
            Positive("rl_steps", RlSteps); Positive("rl_prompts_per_step", RlPromptsPerStep); Positive("rl_ppo_epochs", RlPpoEpochs);
            Positive("rl_learning_rate", RlLearningRate); Positive("rl_eval_every", RlEvalEvery);
            Positive("reward_steps", RewardSteps); Positive("reward_learning_rate", RewardLearningRate);
            if (RlooK < 2) throw new ExperimentException($"setting 'rloo_k' must be >= 2, got {RlooK}");
            if (RlPromptsPerStep % RlooK != 0)
                throw new ExperimentException($"setting 'rl_prompts_per_step' ({RlPromptsPerStep}) must be a multiple of 'rloo_k' ({RlooK})");
        }
    }
}
