using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives.TokenLevel;

/// <summary>
/// ASFT, "Aligned Supervised Fine-Tuning through Absolute Likelihood" (
/// https://arxiv.org/abs/2409.10571), as restated by Gorbatovski et al. with a temperature β:
/// <c>loss = −aw + λ [−log σ(β lo(aw)) − log σ(−β lo(al))]</c>, <c>lo(a) = a − log(1 − e^a)</c> the log-odds of
/// the per-token-averaged probability; no reference model.
/// Intuition: supervised fine-tuning on the chosen response plus an absolute push of each response's own
/// likelihood up (chosen) or down (rejected), not relative to the other one or to a reference.
/// </summary>
public sealed class Asft : IPreferenceObjective
{
    private static readonly NumberParameter LambdaParam = new("lambda", 0.1,
        "weight λ of the two log-odds terms (0 is SFT on the chosen response)", Interval.NonNegative);
    private static readonly NumberParameter BetaParam = new("beta", 1.0,
        "temperature β inside the log-sigmoids (1 is the original ASFT)", Interval.Positive);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "asft", "ASFT: SFT with absolute-likelihood log-odds terms", "https://arxiv.org/abs/2409.10571",
        "-aw + lambda [-ls(beta lo(aw)) - ls(-beta lo(al))], lo(a) = a - log(-expm1(a))",
        [LambdaParam, BetaParam],
        p => new Asft(p.Get(LambdaParam), p.Get(BetaParam)))
    {
        Data = "any pairs (prompt, chosen, rejected); no reference model",
    };

    /// <summary>Creates ASFT.</summary>
    public Asft(double lambda, double beta)
    {
        Lambda = LambdaParam.Check(Id, lambda);
        Beta = BetaParam.Check(Id, beta);
    }

    /// <summary>λ.</summary>
    public double Lambda { get; }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public string Id => "asft";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Mean;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (aw, al) = PairInputs.Averages(s, Id);
        var losses = -aw + Lambda * (-F.logsigmoid(Beta * LogOdds(aw)) - F.logsigmoid(-Beta * LogOdds(al)));
        return new ObjectiveOutput(losses, (Beta * aw).detach(), (Beta * al).detach());
    }

    /// <summary>log(p / (1 − p)) for p = e^a, a &lt; 0.</summary>
    private static Tensor LogOdds(Tensor a) => a - StableMath.Log1mExp(a);
}
