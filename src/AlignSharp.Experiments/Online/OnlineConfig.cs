using AlignSharp.Data;
using AlignSharp.Config;
using YamlDotNet.RepresentationModel;

namespace AlignSharp.Online;

/// <summary>How often fresh pairs are made.</summary>
public enum OnlineMode
{
    /// <summary>Each iteration samples, scores and pairs, then trains epochs over its pairs (iterative DPO).</summary>
    PerIteration,
    /// <summary>Each iteration is one optimizer step on freshly sampled pairs (OAIF, online DPO).</summary>
    PerStep,
}

/// <summary>Where prompts and the ground-truth reward come from.</summary>
public enum OnlineTask
{
    /// <summary>The review task (<see cref="Tasks.ReviewGenerator"/>, <see cref="Tasks.ReviewReward"/>).</summary>
    Review,
    /// <summary>
    /// Arithmetic word problems (<see cref="Tasks.ArithmeticGenerator"/>, <see cref="Tasks.ArithmeticChecker"/>).
    /// </summary>
    Arithmetic,
}

/// <summary>Which model the completions are sampled from.</summary>
public enum SampleSource
{
    /// <summary>The current policy (on-policy).</summary>
    Policy,
    /// <summary>The reference model.</summary>
    Reference,
    /// <summary>
    /// Some from each: <see cref="SampleSection.ReferenceShare"/> of the n completions from the reference.
    /// </summary>
    Mix,
}

/// <summary>How candidates are scored.</summary>
public enum ScoreKind
{
    /// <summary>The task's programmatic reward or verifier (<see cref="Data.IRewardFunction"/>).</summary>
    Reward,
    /// <summary>A pairwise judge (local reward judge or an OpenAI-compatible endpoint), both orders.</summary>
    Judge,
    /// <summary>The policy's implicit reward beta*log(pi/pi_ref) minus length_penalty per token (DICE).</summary>
    Implicit,
    /// <summary>The policy judges its own completions (self-rewarding), both orders.</summary>
    SelfJudge,
}

/// <summary>Which pairwise judge <see cref="ScoreKind.Judge"/> uses.</summary>
public enum JudgeKind
{
    /// <summary>Compares the task's ground-truth rewards (no network; the stand-in for PairRM in tests).</summary>
    Reward,
    /// <summary>
    /// A chat model behind an OpenAI-compatible endpoint (<see cref="Evaluation.ChatEndpointJudge"/>).
    /// </summary>
    Endpoint,
}

/// <summary>How scored candidates become pairs.</summary>
public enum PairStrategy
{
    /// <summary>Highest vs lowest score of each prompt.</summary>
    BestVsWorst,
    /// <summary>One random pair of differently scored candidates per prompt.</summary>
    Random,
    /// <summary>Every pair of differently scored candidates.</summary>
    AllPairs,
    /// <summary>Every pair whose score gap reaches min_margin (SeRA, with implicit-reward scores).</summary>
    Margin,
    /// <summary>Every pair, trained in order of decreasing score gap: easy pairs first (Curry-DPO).</summary>
    Curriculum,
    /// <summary>Best vs the candidate nearest mean - sweet_spot_sigma * std ("sweet spot" rejected).</summary>
    SweetSpot,
}

/// <summary>How the reference model moves during the loop.</summary>
public enum ReferenceUpdate
{
    /// <summary>Never: the starting model.</summary>
    Fixed,
    /// <summary>The policy at the end of each iteration (iterative DPO, SPPO, Curry-DPO).</summary>
    Previous,
    /// <summary>Every <c>every</c> optimizer steps: ref = alpha * policy + (1 - alpha) * ref (TR-DPO soft).</summary>
    SoftSync,
    /// <summary>Every <c>every</c> optimizer steps: ref = policy (TR-DPO hard).</summary>
    HardSync,
}

/// <summary>The sample step: n completions per prompt.</summary>
public sealed record SampleSection
{
    /// <summary>Completions per prompt (n &gt;= 2).</summary>
    public int N { get; init; } = 2;
    public SampleSource From { get; init; } = SampleSource.Policy;
    /// <summary>Share of the n completions drawn from the reference when <c>from: mix</c>.</summary>
    public double ReferenceShare { get; init; } = 0.5;
    public int MaxNewTokens { get; init; } = 32;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    public int TopK { get; init; }
    /// <summary>Rows decoded together (left-padded, KV cache).</summary>
    public int BatchSize { get; init; } = 16;
}

/// <summary>An OpenAI-compatible judge endpoint, or the local reward judge.</summary>
public sealed record JudgeSection
{
    public JudgeKind Kind { get; init; } = JudgeKind.Reward;
    /// <summary>API base, e.g. http://localhost:8000/v1.</summary>
    public string? Url { get; init; }
    public string? Model { get; init; }
    /// <summary>Environment variable holding the API key (never the key itself).</summary>
    public string ApiKeyEnv { get; init; } = "OPENAI_API_KEY";
    public string Criterion { get; init; } = "Which response is better?";
    public int MaxAttempts { get; init; } = 3;
    public double TimeoutSeconds { get; init; } = 60;
}

/// <summary>The score step.</summary>
public sealed record ScoreSection
{
    public ScoreKind Kind { get; init; } = ScoreKind.Reward;
    /// <summary>beta of the implicit reward beta * log(pi/pi_ref).</summary>
    public double ImplicitBeta { get; init; } = 0.1;
    /// <summary>Subtracted per completion token from implicit rewards (DICE's length-regularized reward).</summary>
    public double LengthPenalty { get; init; }
    /// <summary>What the arithmetic verifier pays for: final, steps or strict.</summary>
    public Tasks.ArithmeticRewardKind Verifier { get; init; } = Tasks.ArithmeticRewardKind.Final;
    public JudgeSection Judge { get; init; } = new();
}

/// <summary>The pair step.</summary>
public sealed record PairSection
{
    public PairStrategy Strategy { get; init; } = PairStrategy.BestVsWorst;
    /// <summary>Smallest score gap kept by <c>margin</c> (SeRA).</summary>
    public double MinMargin { get; init; }
    /// <summary>How many standard deviations below the mean the sweet-spot rejected sits.</summary>
    public double SweetSpotSigma { get; init; } = 2.0;
}

/// <summary>The reference-update step.</summary>
public sealed record ReferenceSection
{
    public ReferenceUpdate Update { get; init; } = ReferenceUpdate.Fixed;
    /// <summary>Optimizer steps between syncs (soft_sync, hard_sync).</summary>
    public int Every { get; init; } = 1;
    /// <summary>TR-DPO's alpha: weight of the policy in a soft sync.</summary>
    public double Alpha { get; init; } = 0.5;
}

/// <summary>A base model trained on the task's corpus first, when <c>model.path</c> is not set.</summary>
public sealed record BaseSection
{
    /// <summary>Next-token steps on the task corpus (0: start from the fresh model).</summary>
    public int PretrainSteps { get; init; }
    public int CorpusSize { get; init; } = 2000;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 3e-3;
}

/// <summary>The <c>online</c> section of a config: the loop and its pluggable steps.</summary>
public sealed record OnlineSection
{
    public OnlineMode Mode { get; init; } = OnlineMode.PerIteration;
    public int Iterations { get; init; } = 2;
    public OnlineTask Task { get; init; } = OnlineTask.Review;
    public int PromptsPerIteration { get; init; } = 16;
    /// <summary>Passes over each iteration's pairs (per_iteration mode; per_step makes one optimizer step).</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>
    /// Earlier iterations' pairs added to each iteration's training set, as a share of its new pairs.
    /// </summary>
    public double Replay { get; init; }
    public SampleSection Sample { get; init; } = new();
    public ScoreSection Score { get; init; } = new();
    public PairSection Pair { get; init; } = new();
    public ReferenceSection Reference { get; init; } = new();
    public BaseSection Base { get; init; } = new();
}

/// <summary>
/// A run config (<see cref="RunConfig"/>: model, tokenizer, objective, training, output_dir) plus <c>online</c>.
/// </summary>
public sealed record OnlineConfig(RunConfig Run, OnlineSection Online, string Source)
{
    /// <summary>Loads <paramref name="path"/>, applies <c>--set</c> overrides, and checks every value.</summary>
    public static OnlineConfig Load(string path, IEnumerable<string>? overrides = null)
    {
        var tree = ConfigTree.Load(path);
        foreach (var o in overrides ?? []) tree.Set(o);
        return FromTree(tree);
    }

    /// <summary>Binds a parsed tree: <c>online</c> here, the rest as a <see cref="RunConfig"/>.</summary>
    public static OnlineConfig FromTree(ConfigTree tree)
    {
        var key = new YamlScalarNode("online");
        YamlMappingNode? node = null;
        if (tree.Root.Children.TryGetValue(key, out var n))
        {
            node = n as YamlMappingNode
                ?? throw new ConfigException($"{tree.Where(n)}: 'online' must be a section (a mapping)");
            tree.Root.Children.Remove(key);
        }
        var online = ConfigBinder.Bind<OnlineSection>(tree, node, "online");
        var run = RunConfig.FromTree(tree);
        var config = new OnlineConfig(run, online, tree.Source);
        config.Validate(node is null ? tree.Source : tree.Where(node));
        return config;
    }

    private void Validate(string where)
    {
        var o = Online;
        void Check(bool ok, string message)
        {
            if (!ok) throw new ConfigException($"{where}: online.{message}");
        }
        Check(o.Iterations >= 1, $"iterations must be >= 1 (got {o.Iterations})");
        Check(o.PromptsPerIteration >= 1, $"prompts_per_iteration must be >= 1 (got {o.PromptsPerIteration})");
        Check(o.Epochs >= 1, $"epochs must be >= 1 (got {o.Epochs})");
        Check(o.Replay >= 0 && double.IsFinite(o.Replay), $"replay must be >= 0 (got {o.Replay})");
        Check(o.Sample.N >= 2, $"sample.n must be >= 2 to make pairs (got {o.Sample.N})");
        Check(o.Sample.ReferenceShare is > 0 and < 1 || o.Sample.From != SampleSource.Mix,
            $"sample.reference_share must be in (0, 1) with from: mix (got {o.Sample.ReferenceShare})");
        Check(o.Sample.MaxNewTokens >= 1, $"sample.max_new_tokens must be >= 1 (got {o.Sample.MaxNewTokens})");
        Check(o.Score.ImplicitBeta > 0, $"score.implicit_beta must be > 0 (got {o.Score.ImplicitBeta})");
        Check(o.Score.LengthPenalty >= 0, $"score.length_penalty must be >= 0 (got {o.Score.LengthPenalty})");
        var judge = o.Score.Judge;
        Check(judge.Kind != JudgeKind.Endpoint || (judge.Url is not null && judge.Model is not null),
            "score.judge: an endpoint judge needs url and model");
        Check(o.Score.Judge.Url is null || Uri.TryCreate(o.Score.Judge.Url, UriKind.Absolute, out _),
            $"score.judge.url must be an absolute URL (got '{o.Score.Judge.Url}')");
        Check(o.Pair.MinMargin >= 0, $"pair.min_margin must be >= 0 (got {o.Pair.MinMargin})");
        Check(o.Pair.SweetSpotSigma >= 0, $"pair.sweet_spot_sigma must be >= 0 (got {o.Pair.SweetSpotSigma})");
        Check(o.Reference.Every >= 1, $"reference.every must be >= 1 (got {o.Reference.Every})");
        Check(o.Reference.Alpha is > 0 and <= 1, $"reference.alpha must be in (0, 1] (got {o.Reference.Alpha})");
        Check(o.Base.PretrainSteps >= 0, $"base.pretrain_steps must be >= 0 (got {o.Base.PretrainSteps})");
        if (o.Base.PretrainSteps > 0 && Run.Model.Path is not null)
            throw new ConfigException(
                $"{where}: online.base.pretrain_steps trains a fresh base model; remove it or model.path");
    }
}
