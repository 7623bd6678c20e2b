using System.Text.Json.Nodes;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Pairwise Binary Classifier Optimization (Jung et al. 2024, https://arxiv.org/abs/2404.04656; TRL "bco_pair"):
/// <c>loss = −log σ(β cw − δ) − log σ(−(β cl − δ))</c>, where δ is the running, count-weighted mean of every
/// implicit reward β·cw and β·cl seen in training (count starting at 1e-24), updated with the batch before its loss.
/// Intuition: classify chosen rewards as positive and rejected ones as negative around a moving decision
/// boundary δ, which keeps the two reward populations separated without anchoring them to zero.
/// State (δ and its count) is saved with checkpoints and changes only in training.
/// </summary>
public sealed class Bco : IPreferenceObjective, IStatefulObjective
{
    /// <summary>Initial count of the running mean (TRL's RunningMoments).</summary>
    public const double InitialCount = 1e-24;

    private static readonly NumberParameter BetaParam = CommonParameters.Beta();

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "bco", "Binary Classifier Optimization (pairwise, running reward mean)", "https://arxiv.org/abs/2404.04656",
        "-ls(beta cw - delta) - ls(-(beta cl - delta)); delta = running mean of beta*cw, beta*cl (count from 1e-24), updated before the loss in training",
        [BetaParam],
        p => new Bco(p.Get(BetaParam)));

    /// <summary>Creates BCO with a fresh running mean (δ = 0).</summary>
    public Bco(double beta) => Beta = BetaParam.Check(Id, beta);

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>The running mean reward δ.</summary>
    public double Delta { get; private set; }

    /// <summary>How many rewards δ averages (plus the 1e-24 start).</summary>
    public double Count { get; private set; } = InitialCount;

    /// <inheritdoc />
    public string Id => "bco";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var (zw, zl) = (Beta * cw, Beta * cl);
        if (context.Training)
        {
            var rewards = cat([zw, zl], 0).detach().to(ScalarType.Float64); // (2B)
            double n = rewards.shape[0];
            double batchMean = rewards.mean().item<double>();
            double total = Count + n;
            Delta += (batchMean - Delta) * n / total;
            Count = total;
        }
        var losses = -F.logsigmoid(zw - Delta) - F.logsigmoid(-(zl - Delta));
        return new ObjectiveOutput(losses, zw.detach(), zl.detach())
        {
            Metrics = new Dictionary<string, Tensor> { ["bco/delta"] = tensor(Delta) },
        };
    }

    /// <inheritdoc />
    public JsonObject SaveState() => new() { ["delta"] = Delta, ["count"] = Count };

    /// <inheritdoc />
    public void LoadState(JsonObject state)
    {
        double delta = StateJson.Number(state, Id, "delta");
        double count = StateJson.Number(state, Id, "count");
        if (count <= 0) throw new ObjectiveException($"objective '{Id}': saved state 'count' must be positive, got {PairInputs.Format(count)}");
        (Delta, Count) = (delta, count);
    }
}
