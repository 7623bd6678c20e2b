using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Separable Direct Preference Heads, SepDPH (Rafferty et al. 2024, https://arxiv.org/abs/2405.20053): on scalar
/// reward-head outputs qw, ql, <c>loss = BCE(qw, 1−ε) + BCE(ql, ε)</c> with BCE(x, y) = −(y log σ(x) + (1−y) log σ(−x)).
/// Intuition: train a reward head to classify each response as good or bad on its own, with smoothed targets;
/// the language model's log-probs are not used.
/// </summary>
public sealed class DphSeparate : IPreferenceObjective
{
    private static readonly NumberParameter EpsParam = CommonParameters.LabelSmoothing(0.1, "target smoothing ε of the head's binary labels");

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dph_separate", "Direct Preference Heads, separable (reward head)", "https://arxiv.org/abs/2405.20053",
        "BCE(qw, 1-e) + BCE(ql, e), BCE(x,y) = -(y ls(x) + (1-y) ls(-x)) on head rewards qw, ql",
        [EpsParam],
        p => new DphSeparate(p.Get(EpsParam)));

    /// <summary>The reward-head outputs both DPH variants read.</summary>
    internal static HeadRewards Heads { get; } = new();

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [Heads];

    /// <summary>Creates SepDPH.</summary>
    public DphSeparate(double labelSmoothing) => LabelSmoothing = EpsParam.Check(Id, labelSmoothing);

    /// <summary>Target smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "dph_separate";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (qw, ql) = PairInputs.Heads(s, Id, Heads);
        double e = LabelSmoothing;
        var losses = Bce(qw, 1 - e) + Bce(ql, e);
        return new ObjectiveOutput(losses, qw.detach(), ql.detach());
    }

    private static Tensor Bce(Tensor x, double y) => -(y * F.logsigmoid(x) + (1 - y) * F.logsigmoid(-x));
}
