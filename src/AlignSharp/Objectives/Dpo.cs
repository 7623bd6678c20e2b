using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290):
/// <c>loss = -log σ(β((pw - rw) - (pl - rl)))</c>. Intuition: raise the chosen completion's log-ratio to the
/// reference above the rejected one's, with β setting how far from the reference the policy may move.
/// (The f-divergence variants of the canonical table are added with the objective family.)
/// </summary>
public sealed class Dpo(double beta) : IPreferenceObjective
{
    /// <summary>Temperature β.</summary>
    public double Beta { get; } = beta;

    /// <inheritdoc />
    public string Id => "dpo";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (rw, rl) = s.RequireReference(Id);
        var cw = s.PolicyChosen - rw;
        var cl = s.PolicyRejected - rl;
        var losses = -F.logsigmoid(Beta * (cw - cl));
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach());
    }
}
