namespace AlignSharp.Objectives;

/// <summary>
/// Self-Play Preference Optimization (Wu et al. 2024, https://arxiv.org/abs/2405.00675):
/// <c>loss = (cw − (Pw − ½)/β)² + (cl − (Pl − ½)/β)²</c>, with Pw, Pl each response's estimated win probability
/// (e.g. PairRM row means) and the previous iteration's policy as reference.
/// Intuition: move each response's log-ratio in proportion to how much better than average it is.
/// </summary>
public sealed class Sppo : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta(0.001);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "sppo", "Self-Play Preference Optimization (win probabilities)", "https://arxiv.org/abs/2405.00675",
        "(cw - (Pw - 1/2)/beta)^2 + (cl - (Pl - 1/2)/beta)^2",
        [BetaParam],
        p => new Sppo(p.Get(BetaParam)));

    /// <summary>Estimated win probability of the chosen response, dataset column <c>chosen_win_prob</c>.</summary>
    public static DatasetColumn ChosenWinProbs { get; } =
        new("chosen_win_probs", "chosen_win_prob", "estimated win probability of the chosen response, in [0, 1]");

    /// <summary>Estimated win probability of the rejected response, dataset column <c>rejected_win_prob</c>.</summary>
    public static DatasetColumn RejectedWinProbs { get; } =
        new("rejected_win_probs", "rejected_win_prob", "estimated win probability of the rejected response, in [0, 1]");

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [ChosenWinProbs, RejectedWinProbs];

    /// <summary>Creates SPPO.</summary>
    public Sppo(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β (η = 1/β).</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "sppo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var pw = PairInputs.Vector(s, Id, ChosenWinProbs);
        var pl = PairInputs.Vector(s, Id, RejectedWinProbs);
        PairInputs.CheckEach(Id, "chosen_win_probs", pw, v => v is >= 0 and <= 1, "must be a probability in [0, 1]");
        PairInputs.CheckEach(Id, "rejected_win_probs", pl, v => v is >= 0 and <= 1, "must be a probability in [0, 1]");
        var losses = (cw - (pw.to(cw.dtype) - 0.5) / Beta).square() + (cl - (pl.to(cl.dtype) - 0.5) / Beta).square();
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
