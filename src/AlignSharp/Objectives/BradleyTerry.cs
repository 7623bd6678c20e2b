using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// The reward-model loss (Bradley–Terry; Ouyang et al. 2022, https://arxiv.org/abs/2203.02155, as TRL's
/// <c>RewardTrainer</c>): on a reward head's scalar outputs rw, rl, <c>loss = −log σ(rw − rl − m) + c (rw + rl)²</c>,
/// with m the pair's optional <c>margin</c> column (0 without it) and c <c>center_rewards_coefficient</c>
/// (Eisenstein et al. 2023, https://arxiv.org/abs/2312.09244; 0 turns the term off).
/// Intuition: the chosen response must out-score the rejected one by at least the margin; the centering term keeps
/// rewards near zero, since the loss sees only differences.
/// Logs TRL's reward metrics: <c>accuracy</c>, <c>margin</c>, <c>min_reward</c>, <c>mean_reward</c>, <c>max_reward</c>.
/// </summary>
public sealed class BradleyTerry : IPreferenceObjective
{
    private static readonly NumberParameter CenterParam = new("center_rewards_coefficient", 0.0,
        "c: weight of the squared reward sum (rw + rl)^2 that centres rewards on 0 (0 = off)", Interval.NonNegative);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "bradley_terry", "Reward model (Bradley-Terry, TRL's RewardTrainer)", "https://arxiv.org/abs/2203.02155",
        "-ls(rw - rl - m) + c (rw + rl)^2 on reward-head outputs rw, rl; m = margin column (optional)",
        [CenterParam],
        p => new BradleyTerry(p.Get(CenterParam)))
    {
        Data = "any pairs, optional `margin` column; trains a reward model (`alignsharp reward train`)",
    };

    /// <summary>The pair's margin m (dataset column <c>margin</c>), read when the data has it.</summary>
    public static DatasetColumn Margin { get; } =
        new("margin", "margin", "how much the chosen reward must exceed the rejected one (TRL's margin)") { Optional = true };

    /// <summary>Creates the loss with centering coefficient <paramref name="centerRewardsCoefficient"/>.</summary>
    public BradleyTerry(double centerRewardsCoefficient) =>
        CenterRewardsCoefficient = CenterParam.Check(Id, centerRewardsCoefficient);

    /// <summary>Weight c of the centering term.</summary>
    public double CenterRewardsCoefficient { get; }

    /// <inheritdoc />
    public string Id => "bradley_terry";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [DphSeparate.Heads, Margin];

    /// <inheritdoc />
    public bool ReadsLogProbs => false;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (rw, rl) = PairInputs.Heads(s, Id, DphSeparate.Heads);
        var diff = rw - rl; // (B)
        if (s.Inputs.Find(Margin) is not null)
            diff = diff - PairInputs.Vector(s, Id, Margin);
        var losses = -F.logsigmoid(diff);
        if (CenterRewardsCoefficient > 0) losses = losses + CenterRewardsCoefficient * (rw + rl).square();
        var all = cat([rw.detach(), rl.detach()]); // (2B)
        return new ObjectiveOutput(losses, rw.detach(), rl.detach())
        {
            Metrics = new Dictionary<string, Tensor>
            {
                ["accuracy"] = (rw > rl).to(ScalarType.Float32).mean(),
                ["margin"] = (rw - rl).detach().mean(),
                ["min_reward"] = all.min(),
                ["mean_reward"] = all.mean(),
                ["max_reward"] = all.max(),
            },
        };
    }
}
