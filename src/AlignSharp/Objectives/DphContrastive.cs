using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Contrastive Direct Preference Heads, ConDPH (Rafferty et al. 2024, https://arxiv.org/abs/2405.20053): on scalar
/// reward-head outputs qw, ql, <c>loss = −(1−ε) log σ(qw − ql) − ε log σ(ql − qw)</c>.
/// Intuition: a Bradley–Terry reward-model loss on a head over the policy's hidden states, with label smoothing.
/// </summary>
public sealed class DphContrastive : IPreferenceObjective
{
    private static readonly NumberParameter EpsParam = CommonParameters.LabelSmoothing(0.1);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dph_contrastive", "Direct Preference Heads, contrastive (reward head)", "https://arxiv.org/abs/2405.20053",
        "-(1-e) ls(qw - ql) - e ls(ql - qw) on head rewards qw, ql",
        [EpsParam],
        p => new DphContrastive(p.Get(EpsParam)));

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [DphSeparate.Heads];

    /// <summary>Creates ConDPH.</summary>
    public DphContrastive(double labelSmoothing) => LabelSmoothing = EpsParam.Check(Id, labelSmoothing);

    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public string Id => "dph_contrastive";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (qw, ql) = PairInputs.Heads(s, Id, DphSeparate.Heads);
        double e = LabelSmoothing;
        var losses = -(1 - e) * F.logsigmoid(qw - ql) - e * F.logsigmoid(ql - qw);
        return new ObjectiveOutput(losses, qw.detach(), ql.detach());
    }
}
