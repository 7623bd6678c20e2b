using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// Kahneman–Tversky Optimization (Ethayarajh et al. 2024, https://arxiv.org/abs/2402.01306; TRL KTOTrainer), on
/// unpaired (prompt, completion, desirable/undesirable) examples with log-ratio c = policy − reference:
/// z0 = max(0, mean over the batch's mismatched (prompt, completion) pairs of policy − reference), detached;
/// desirable <c>wD (1 − σ(β (c − z0)))</c>, undesirable <c>wU (1 − σ(β (z0 − c)))</c>.
/// Intuition: a prospect-theory value function around the reference point z0 (the policy's KL to the
/// reference): gains on desirable outputs and losses on undesirable ones saturate, and only binary labels
/// are needed.
/// Paired data is split (chosen desirable, rejected undesirable); then the mismatched-pair log-probs come as the
/// <see cref="MismatchedLogProbs"/> input and each pair's loss is the mean of its two examples' losses.
/// </summary>
public sealed class Kto : IPreferenceObjective, IUnpairedObjective
{
    private const string KlPolicyKey = MismatchedLogProbs.PolicyKey;
    private const string KlReferenceKey = MismatchedLogProbs.ReferenceKey;
    private static readonly MismatchedLogProbs Mismatched = new();
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter DesirableParam = new("desirable_weight", 1.0, "weight λD of desirable examples", Interval.NonNegative);
    private static readonly NumberParameter UndesirableParam = new("undesirable_weight", 1.0, "weight λU of undesirable examples", Interval.NonNegative);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "kto", "Kahneman-Tversky Optimization (unpaired; pairs are split)", "https://arxiv.org/abs/2402.01306",
        "z0 = max(0, mean mismatched-pair log-ratio), detached; desirable wD (1 - s(beta (c - z0))), undesirable wU (1 - s(beta (z0 - c)))",
        [BetaParam, DesirableParam, UndesirableParam],
        p => new Kto(p.Get(BetaParam), p.Get(DesirableParam), p.Get(UndesirableParam)));

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [Mismatched];

    /// <summary>Creates KTO.</summary>
    public Kto(double beta, double desirableWeight = 1.0, double undesirableWeight = 1.0)
    {
        Beta = BetaParam.Check(Id, beta);
        DesirableWeight = DesirableParam.Check(Id, desirableWeight);
        UndesirableWeight = UndesirableParam.Check(Id, undesirableWeight);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>λD.</summary>
    public double DesirableWeight { get; }

    /// <summary>λU.</summary>
    public double UndesirableWeight { get; }

    /// <inheritdoc />
    public string Id => "kto";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(UnpairedStats u, ObjectiveContext context)
    {
        long n = u.Count;
        foreach (var (key, t) in new[] { ("reference_logps", u.Reference), ("labels", u.Labels) })
            if (t.dim() != 1 || t.shape[0] != n)
                throw new ObjectiveException($"objective '{Id}': input '{key}' must have shape ({n}), got ({string.Join(", ", t.shape)})");
        PairInputs.CheckEach(Id, "labels", u.Labels, v => v is 0 or 1, "must be 1 (desirable) or 0 (undesirable)");
        var klRatio = KlRatios(u.KlPolicy, u.KlReference);
        var z0 = klRatio.mean().clamp_min(0).detach(); // scalar
        var c = u.Policy - u.Reference; // (N)
        var desirable = u.Labels.to(ScalarType.Bool);
        var losses = where(desirable,
            DesirableWeight * sigmoid(-Beta * (c - z0)),
            UndesirableWeight * sigmoid(-Beta * (z0 - c))); // 1 − σ(x) = σ(−x)
        var rewards = (Beta * c).detach();
        return new ObjectiveOutput(losses, rewards[desirable], rewards[desirable.logical_not()])
        {
            Metrics = new Dictionary<string, Tensor> { ["kl"] = z0 },
        };
    }

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var kl = s.Get(Mismatched, Id);
        var unpaired = UnpairedStats.FromPairs(s, kl.Policy, kl.Reference, Id);
        var output = Compute(unpaired, context);
        long b = s.Count;
        var perPair = (output.Losses.narrow(0, 0, b) + output.Losses.narrow(0, b, b)) / 2; // (2B) -> (B)
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        return new ObjectiveOutput(perPair, (Beta * cw).detach(), (Beta * cl).detach()) { Metrics = output.Metrics };
    }

    private Tensor KlRatios(Tensor policy, Tensor reference)
    {
        if (policy.dim() != 1 || policy.shape[0] == 0 || !policy.shape.SequenceEqual(reference.shape))
            throw new ObjectiveException(
                $"objective '{Id}': inputs '{KlPolicyKey}' ({string.Join(", ", policy.shape)}) and '{KlReferenceKey}' ({string.Join(", ", reference.shape)}) must be non-empty vectors of one length");
        PairInputs.CheckEach(Id, KlPolicyKey, policy, _ => true, "");
        PairInputs.CheckEach(Id, KlReferenceKey, reference, _ => true, "");
        return policy - reference;
    }
}
