using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>Which per-sequence log-prob an objective reads: the completion sum, or the sum divided by its token count.</summary>
public enum LogProbReduction
{
    /// <summary>Summed over completion tokens (DPO and most of the family).</summary>
    Sum,
    /// <summary>Length-averaged (SimPO, ORPO, ...): the objective divides the sum by the count itself.</summary>
    Mean,
}

/// <summary>
/// Per-pair sequence statistics for one batch of B pairs; every tensor has shape (B). Log-probs are always
/// completion sums; lengths are completion token counts, so objectives that want means divide themselves.
/// Reference tensors are null for reference-free objectives.
/// </summary>
public sealed record PairStats(
    Tensor PolicyChosen,
    Tensor PolicyRejected,
    Tensor? ReferenceChosen,
    Tensor? ReferenceRejected,
    Tensor ChosenLengths,
    Tensor RejectedLengths)
{
    /// <summary>
    /// Extra inputs the objective declared (<see cref="IPreferenceObjective.Inputs"/>), typed by request; the
    /// trainer fills them, vector files and tests may give named arrays instead (<see cref="Extras"/>).
    /// </summary>
    public ObjectiveInputs Inputs { get; init; } = ObjectiveInputs.Empty;

    /// <summary>
    /// Extra inputs as named arrays, by golden-vector key (e.g. chosen_scores, prompt_embeddings (B, E)) or dataset
    /// column name: the form vector files and tests use. Setting it keeps the typed values of <see cref="Inputs"/>.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Extras
    {
        get => Inputs.Keyed;
        init => Inputs = Inputs.WithKeyed(value);
    }

    /// <summary>Number of pairs.</summary>
    public long Count => PolicyChosen.shape[0];

    /// <summary>Policy log-probs (B) in <paramref name="reduction"/>: the sums, or the sums over the lengths.</summary>
    public (Tensor Chosen, Tensor Rejected) Policy(LogProbReduction reduction) =>
        reduction == LogProbReduction.Sum
            ? (PolicyChosen, PolicyRejected)
            : (PolicyChosen / ChosenLengths, PolicyRejected / RejectedLengths);

    /// <summary>The reference tensor, or a clear error if the objective needs one and none was given.</summary>
    public (Tensor Chosen, Tensor Rejected) RequireReference(string objective) =>
        ReferenceChosen is not null && ReferenceRejected is not null
            ? (ReferenceChosen, ReferenceRejected)
            : throw new ObjectiveException($"objective '{objective}' needs reference log-probs");

    /// <summary>The value of <paramref name="request"/>, or an error naming the objective and the missing key.</summary>
    public TValue Get<TValue>(InputRequest<TValue> request, string objective) where TValue : class =>
        Inputs.Get(request, objective);
}

/// <summary>What the trainer passes besides the statistics.</summary>
/// <param name="Training">True in training steps; stateful objectives update state only then.</param>
/// <param name="Step">Optimizer step (0-based) of this batch.</param>
/// <param name="MaxSteps">Total optimizer steps of the run.</param>
/// <param name="Generator">The run's seeded generator, for objectives that sample (beta-DPO filtering).</param>
public sealed record ObjectiveContext(bool Training, long Step, long MaxSteps, Generator? Generator)
{
    /// <summary>An evaluation context with no schedule.</summary>
    public static ObjectiveContext Eval { get; } = new(false, 0, 1, null);
}

/// <summary>Per-pair losses (B) and implicit rewards (B) (detached), plus extra scalar metrics by TRL-style name.</summary>
public sealed record ObjectiveOutput(Tensor Losses, Tensor ChosenRewards, Tensor RejectedRewards)
{
    /// <summary>Extra metrics, each a scalar tensor.</summary>
    public IReadOnlyDictionary<string, Tensor> Metrics { get; init; } = new Dictionary<string, Tensor>();

    /// <summary>
    /// Per-example losses (B) of a learned part the objective trains beside the policy (OREO's value head), or null.
    /// The trainer adds their mean to the optimised loss; they are not the objective's value (golden vectors compare
    /// <see cref="Losses"/>).
    /// </summary>
    public Tensor? AuxiliaryLosses { get; init; }
}

/// <summary>
/// A pairwise preference objective: one sealed class per objective, registered once in <see cref="ObjectiveCatalog"/>.
/// Returns per-pair losses; the trainer averages.
/// </summary>
public interface IPreferenceObjective
{
    /// <summary>Catalog id, exactly as in the canonical table (e.g. "dpo").</summary>
    string Id { get; }

    /// <summary>False for reference-free objectives: the trainer then runs no reference forward and keeps no reference model.</summary>
    bool NeedsReference { get; }

    /// <summary>
    /// Which aggregate of the completion's token log-probs the loss reads: sums, or means (the objective divides the
    /// sums in <see cref="PairStats"/> by the lengths itself). The trainer logs <c>logps/chosen</c> and
    /// <c>logps/rejected</c> in this aggregate, as TRL does for length-normalised losses.
    /// </summary>
    LogProbReduction Reduction { get; }

    /// <summary>
    /// Extra inputs the objective reads besides the sequence sums, as typed requests the trainer satisfies (dataset
    /// columns, mismatched rows, prompt embeddings, per-token log-probs, ...). None by default.
    /// </summary>
    IReadOnlyList<InputRequest> Inputs => [];

    /// <summary>
    /// False for objectives that read nothing of the language model's log-probs (a reward model's Bradley-Terry
    /// loss): the trainer then skips the LM-head pass and logs no <c>logps/*</c>; <see cref="PairStats"/> sums are 0.
    /// </summary>
    bool ReadsLogProbs => true;

    /// <summary>Computes per-pair losses and rewards for one batch.</summary>
    ObjectiveOutput Compute(PairStats stats, ObjectiveContext context);
}

/// <summary>An objective with state that checkpoints save and resume restores (BCO's running mean, beta-DPO's statistics).</summary>
public interface IStatefulObjective
{
    /// <summary>The state as JSON (exact: doubles round-trip).</summary>
    JsonObject SaveState();

    /// <summary>Restores state written by <see cref="SaveState"/>.</summary>
    void LoadState(JsonObject state);
}

/// <summary>An objective error caused by its inputs or parameters; the message names the objective and the key.</summary>
public sealed class ObjectiveException(string message) : AlignSharpException(message);
