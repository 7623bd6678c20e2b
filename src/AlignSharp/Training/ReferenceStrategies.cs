using AlignSharp.Data;
using AlignSharp.Distributed;
using AlignSharp.Models;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Where reference log-probs come from, so the trainer has no branches for caching or adapters.
/// Returns per-row completion sums (R) for a batch's rows (pairs: chosen rows then rejected rows), or null when
/// the objective needs no reference.
/// </summary>
public interface IReferenceStrategy : IDisposable
{
    /// <summary>Short name for logs.</summary>
    string Name { get; }

    /// <summary>Reference sums (R) for <paramref name="batch"/>'s rows, already on <paramref name="device"/>; no gradient.</summary>
    Tensor? LogProbs(PreferenceBatch batch, Device device);

    /// <summary>
    /// Reference log-probs per completion token (R, Tc) for <paramref name="batch"/>'s rows, laid out as
    /// <see cref="RowLogProbs.Tokens"/>, on <paramref name="device"/>; no gradient. Only objectives that request
    /// per-token inputs ask; a strategy that cannot give them says so.
    /// </summary>
    Tensor? TokenLogProbs(PreferenceBatch batch, Device device) =>
        throw new AlignSharpException($"the reference strategy '{Name}' gives no per-token log-probs");

    /// <summary>
    /// Joins the ranks of a data-parallel job: from now on each rank runs the reference forward on its share of a
    /// batch's rows only and gathers the rest (as the policy does), instead of every rank running all of them. The
    /// default does nothing: a strategy without a model of its own (none, the adapter-disabled policy) has nothing
    /// to split.
    /// </summary>
    void Distribute(ICollectives comm) { }
}

/// <summary>No reference (reference-free objectives): no forward, no memory.</summary>
public sealed class NoReference : IReferenceStrategy
{
    /// <inheritdoc />
    public string Name => "none";

    /// <inheritdoc />
    public Tensor? LogProbs(PreferenceBatch batch, Device device) => null;

    /// <inheritdoc />
    public Tensor? TokenLogProbs(PreferenceBatch batch, Device device) => null;

    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>A frozen copy of the initial policy, run forward under no_grad every step.</summary>
public sealed class FrozenReference : IReferenceStrategy
{
    private readonly CausalLM model;

    /// <summary>Takes ownership of <paramref name="model"/> and freezes it.</summary>
    public FrozenReference(CausalLM model)
    {
        this.model = model;
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// <inheritdoc />
    public string Name => "frozen-copy";

    /// <summary>
    /// The frozen model (owned by this strategy). A run that moves its reference (the online loop's iterative and
    /// TR-DPO updates) writes into its weights in place; nothing here trains it.
    /// </summary>
    public CausalLM Model => model;

    /// <summary>Reference forwards run so far (for logs and tests).</summary>
    public int Forwards { get; private set; }

    /// <inheritdoc />
    public Tensor? LogProbs(PreferenceBatch batch, Device device)
    {
        using var _ = no_grad();
        Forwards++;
        return BatchLogProbs.Of(model, batch, device).Sums;
    }

    /// <inheritdoc />
    public Tensor? TokenLogProbs(PreferenceBatch batch, Device device)
    {
        using var _ = no_grad();
        Forwards++;
        return BatchLogProbs.Of(model, batch, device, perToken: true).Tokens;
    }

    /// <inheritdoc />
    public void Distribute(ICollectives comm) => model.DataParallel = comm.Size > 1 ? comm : null;

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}

/// <summary>Runs a model over a collated batch on a device (one place for the batch-to-device step).</summary>
public static class BatchLogProbs
{
    /// <summary>
    /// Per-row completion sums and counts of <paramref name="batch"/> under <paramref name="model"/>, and the
    /// per-token log-probs with their mask when <paramref name="perToken"/>, and the hidden state scoring each
    /// completion token when <paramref name="hiddenStates"/> (one process only).
    /// </summary>
    public static RowLogProbs Of(CausalLM model, PreferenceBatch batch, Device device, bool perToken = false,
        bool hiddenStates = false)
    {
        if (model.DataParallel is { Size: > 1 } comm)
            return hiddenStates
                ? throw new AlignSharpException("objectives that read per-token hidden states (tpo, oreo) train in one "
                    + "process (not under mpirun) for now")
                : DataParallel.Of(model, batch, device, perToken, comm);
        using var scope = NewDisposeScope();
        var r = SequenceLogProbs.Compute(model, batch.InputIds.to(device), batch.AttentionMask.to(device),
            batch.PositionIds.to(device), batch.CompletionMask.to(device), perToken: perToken,
            hiddenStates: hiddenStates, packed: batch.Packed);
        return new RowLogProbs(r.Sums.MoveToOuterDisposeScope(), r.Counts.MoveToOuterDisposeScope())
        {
            TokenHidden = r.TokenHidden?.MoveToOuterDisposeScope(),
            Tokens = r.Tokens?.MoveToOuterDisposeScope(),
            TokenMask = r.TokenMask?.MoveToOuterDisposeScope(),
            LogitSums = r.LogitSums?.MoveToOuterDisposeScope(),
        };
    }
}
