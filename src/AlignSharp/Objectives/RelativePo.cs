using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Relative Preference Optimization (Yin et al. 2024, https://arxiv.org/abs/2402.10958; not the DPO+NLL "RPO",
/// which is <c>dpo_nll</c>): with L2-normalised prompt embeddings e_i, d_ij = 1 − e_i·e_j,
/// w_ij = softmax_j(−d_ij/τ), S_ij = cw_i − cl_j: <c>loss_i = mean_j −log σ(β w_ij S_ij)</c>.
/// Intuition: contrast each chosen response with the rejected responses of every prompt in the batch,
/// weighting by how similar the prompts are, so related prompts share preference signal.
/// </summary>
public sealed class RelativePo : IPreferenceObjective
{
    private const string EmbeddingsKey = PromptEmbeddings.Key;
    private static readonly PromptEmbeddings Embeddings = new();
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter TauParam = new("tau", 0.5, "temperature τ of the prompt-similarity softmax", Interval.Positive);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "relative_po", "Relative Preference Optimization (prompt-similarity weighted contrasts)", "https://arxiv.org/abs/2402.10958",
        "e_i L2-normalised, d_ij = 1 - e_i.e_j, w_ij = softmax_j(-d_ij/tau), S_ij = cw_i - cl_j; loss_i = mean_j -ls(beta w_ij S_ij)",
        [BetaParam, TauParam],
        p => new RelativePo(p.Get(BetaParam), p.Get(TauParam)));

    /// <inheritdoc />
    public IReadOnlyList<InputRequest> Inputs => [Embeddings];

    /// <summary>Creates Relative PO.</summary>
    public RelativePo(double beta, double tau)
    {
        Beta = BetaParam.Check(Id, beta);
        Tau = TauParam.Check(Id, tau);
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Similarity temperature τ.</summary>
    public double Tau { get; }

    /// <inheritdoc />
    public string Id => "relative_po";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        var e = s.Get(Embeddings, Id);
        if (e.dim() != 2 || e.shape[0] != s.Count)
            throw new ObjectiveException($"objective '{Id}': input '{EmbeddingsKey}' must have shape ({s.Count}, E), got ({string.Join(", ", e.shape)})");
        var norms = e.detach().to(ScalarType.Float64).square().sum(1); // (B)
        PairInputs.CheckEach(Id, EmbeddingsKey, norms, v => v > 0, "must be a non-zero vector (squared norm)");
        var unit = F.normalize(e.to(cw.dtype), p: 2, dim: 1); // (B, E)
        var distance = 1.0 - unit.matmul(unit.t()); // (B, B): d_ij
        var weights = (-distance / Tau).softmax(1); // (B, B): softmax over j
        var contrasts = cw.unsqueeze(1) - cl.unsqueeze(0); // (B, 1) - (1, B) -> (B, B): S_ij
        var losses = (-F.logsigmoid(Beta * weights * contrasts)).mean([1]); // (B, B) -> (B)
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
