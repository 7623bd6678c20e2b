using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>What an input provider sees for one batch: the batch, both models and this step's policy rows.</summary>
/// <param name="Batch">The collated batch (either kind).</param>
/// <param name="Policy">The policy being trained.</param>
/// <param name="Reference">The reference strategy.</param>
/// <param name="PolicyRows">The policy's log-probs of the batch's rows, with gradient (per token if requested).</param>
/// <param name="Device">Where the step runs.</param>
public sealed record InputContext(
    PreferenceBatch Batch, CausalLM Policy, IReferenceStrategy Reference, RowLogProbs PolicyRows, Device Device);

/// <summary>
/// Satisfies one kind of <see cref="InputRequest"/>. The trainer picks a provider by the request's type; issue 14's
/// reward head, for one, is a provider of <see cref="HeadRewards"/> passed to <see cref="TrainerInputs"/>.
/// </summary>
public interface IInputProvider
{
    /// <summary>True when this provider answers <paramref name="request"/>.</summary>
    bool Provides(InputRequest request);

    /// <summary>A copy of <paramref name="inputs"/> with the value of <paramref name="request"/> added.</summary>
    ObjectiveInputs Provide(InputRequest request, InputContext context, ObjectiveInputs inputs);
}

/// <summary>Provides <typeparamref name="TRequest"/> requests, whose values are <typeparamref name="TValue"/>s.</summary>
/// <typeparam name="TRequest">The request kind.</typeparam>
/// <typeparam name="TValue">Its value type.</typeparam>
public abstract class InputProvider<TRequest, TValue> : IInputProvider
    where TRequest : InputRequest<TValue> where TValue : class
{
    /// <inheritdoc />
    public bool Provides(InputRequest request) => request is TRequest;

    /// <inheritdoc />
    public ObjectiveInputs Provide(InputRequest request, InputContext context, ObjectiveInputs inputs) =>
        inputs.With((TRequest)request, Value((TRequest)request, context));

    /// <summary>The value of <paramref name="request"/> for this batch.</summary>
    protected abstract TValue Value(TRequest request, InputContext context);
}

/// <summary>
/// The trainer's side of the objective contract: the requests an objective (or every member of a combination)
/// declares in <see cref="IPreferenceObjective.Inputs"/>, each matched to a provider by type when the trainer is
/// built, so a request no provider answers (a reward head's output, today) is one clear error up front naming the
/// objective and the input. Built-in providers: dataset columns, KTO's mismatched rows, prompt embeddings and
/// per-token completion log-probs; callers add more.
/// </summary>
public sealed class TrainerInputs
{
    private readonly List<(string Owner, InputRequest Request, IInputProvider Provider)> plan = [];

    /// <summary>Matches every request of <paramref name="objective"/> to a built-in or an extra provider.</summary>
    public TrainerInputs(IPreferenceObjective objective, IEnumerable<IInputProvider>? extraProviders = null)
    {
        IInputProvider[] providers = [.. extraProviders ?? [], .. BuiltIn];
        foreach (var (owner, request) in Declared(objective))
        {
            if (plan.Any(p => p.Request == request)) continue;
            var provider = providers.FirstOrDefault(p => p.Provides(request))
                ?? throw new ObjectiveException(
                    $"objective '{owner}' needs {request.Names} ({request.Description}), " +
                    "which the trainer cannot provide");
            plan.Add((owner, request, provider));
        }
    }

    /// <summary>The providers every trainer has.</summary>
    public static IReadOnlyList<IInputProvider> BuiltIn { get; } =
    [
        new ColumnProvider(), new MismatchedProvider(), new PromptEmbeddingProvider(), new TokenProvider(),
        new AnnotationProvider(), new RefinedProvider(), new ResponseProvider(),
    ];

    /// <summary>True when a built-in provider answers <paramref name="request"/>.</summary>
    public static bool CanProvide(InputRequest request) => BuiltIn.Any(p => p.Provides(request));

    /// <summary>The requests this trainer satisfies, each once, in declaration order.</summary>
    public IReadOnlyList<InputRequest> Requests => [.. plan.Select(p => p.Request)];

    /// <summary>True when the policy forward must keep per-token log-probs (some request reads them).</summary>
    public bool NeedsTokenLogProbs => plan.Any(p => p.Request is CompletionTokenLogProbs or ResponseTreeInputs
        or ResponseTokenLogProbs or OreoInputs);

    /// <summary>
    /// True when the policy forward must also keep the hidden state scoring each completion token (TPO's step
    /// similarities, OREO's value head).
    /// </summary>
    public bool NeedsTokenHidden => plan.Any(p => p.Request is ResponseTreeInputs or OreoInputs);

    /// <summary>
    /// Checks before training that every example of <paramref name="examples"/> has the dataset columns requested:
    /// the first that lacks one is an error naming the objective, the column and the record.
    /// </summary>
    public void CheckData(AlignSharp.Data.Batching.IExampleSet examples)
    {
        foreach (var (owner, request, provider) in plan)
        {
            if (provider is IDataRequirement requirement) requirement.Check(owner, request, examples);
            if (request is not DatasetColumn column) continue;
            if (column.Optional)
            {
                var has = Enumerable.Range(0, examples.Count).Select(i => examples.Extras(i).ContainsKey(column.Column));
                int first = has.Contains(true) ? has.ToList().IndexOf(false) : -1;
                if (first >= 0)
                    throw new DataException(examples.Source(first),
                        $"objective '{owner}' reads the optional numeric column '{column.Column}' " +
                        $"({column.Description}): give it in every record or in none");
                continue;
            }
            for (int i = 0; i < examples.Count; i++)
                if (!examples.Extras(i).ContainsKey(column.Column))
                    throw new DataException(examples.Source(i),
                        $"objective '{owner}' needs the numeric column '{column.Column}' ({column.Description}) " +
                        "in every record");
        }
    }

    /// <summary>Every requested input of one batch, typed by request.</summary>
    public ObjectiveInputs For(InputContext context)
    {
        var inputs = ObjectiveInputs.Empty;
        foreach (var (_, request, provider) in plan) inputs = provider.Provide(request, context, inputs);
        return inputs;
    }

    private static IEnumerable<(string Owner, InputRequest Request)> Declared(IPreferenceObjective objective) =>
        objective is CombinedObjective c
            ? c.Members.SelectMany(m => Declared(m.Objective))
            : objective.Inputs.Select(r => (objective.Id, r));

    /// <summary>A numeric dataset column of every example in the batch, (B) or (N), in the policy's dtype.</summary>
    /// <remarks>An optional column the batch lacks adds nothing.</remarks>
    private sealed class ColumnProvider : IInputProvider
    {
        public bool Provides(InputRequest request) => request is DatasetColumn;

        public ObjectiveInputs Provide(InputRequest request, InputContext c, ObjectiveInputs inputs)
        {
            var column = (DatasetColumn)request;
            var columns = c.Batch.Extras(c.PolicyRows.Sums.dtype);
            if (columns.TryGetValue(column.Column, out var t)) return inputs.With(column, t.to(c.Device));
            return column.Optional ? inputs : throw new ObjectiveException(
                $"the data has no numeric column '{column.Column}' in every example ({column.Description})");
        }
    }

    /// <summary>
    /// KTO's KL rows: the batch with every completion moved to the previous example's prompt
    /// (<see cref="UnpairedStats.MismatchedOrder"/>), scored by policy and reference without gradient.
    /// </summary>
    private sealed class MismatchedProvider : InputProvider<MismatchedLogProbs, MismatchedRows>
    {
        protected override MismatchedRows Value(MismatchedLogProbs request, InputContext c)
        {
            using var _ = no_grad();
            using var mismatched = c.Batch.Mismatched(UnpairedStats.MismatchedOrder(c.Batch.Count));
            var policy = BatchLogProbs.Of(c.Policy, mismatched, c.Device).Sums; // (R)
            var reference = c.Reference.LogProbs(mismatched, c.Device)
                ?? throw new ObjectiveException("KTO needs reference log-probs for its KL estimate");
            return new MismatchedRows(policy, reference);
        }
    }

    /// <summary>Mean of the policy's final hidden states over each prompt's tokens: (B, C), without gradient.</summary>
    private sealed class PromptEmbeddingProvider : InputProvider<PromptEmbeddings, Tensor>
    {
        protected override Tensor Value(PromptEmbeddings request, InputContext c)
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var batch = c.Batch;
            int b = batch.Count;
            var ids = batch.InputIds[..b].to(c.Device); // first rows carry each prompt: (B, T)
            var completion = batch.CompletionMask[..b].to(ScalarType.Int64); // (B, T)
            var promptMask = (batch.AttentionMask[..b] - completion).to(c.Device); // (B, T): 1 on prompt tokens
            var hidden = c.Policy.ForwardHidden(ids, promptMask, CausalLM.PositionsFromMask(promptMask)); // (B, T, C)
            var weights = promptMask.to(hidden.dtype).unsqueeze(2); // (B, T) -> (B, T, 1)
            var mean = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1); // (B, C)
            return mean.MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Per-token completion log-probs: the policy's from this step's forward (with gradient), the reference's from
    /// its strategy (without), split into chosen rows (B, Tc) and rejected rows (B, Tc).
    /// </summary>
    private sealed class TokenProvider : InputProvider<CompletionTokenLogProbs, TokenLogProbs>
    {
        protected override TokenLogProbs Value(CompletionTokenLogProbs request, InputContext c)
        {
            if (c.Batch.Kind != BatchKind.Pairs)
                throw new ObjectiveException("per-token completion log-probs are given for batches of pairs only");
            var rows = c.PolicyRows;
            var policy = rows.Tokens
                ?? throw new InvalidOperationException("the policy forward kept no per-token log-probs");
            var mask = rows.TokenMask!; // (2B, Tc)
            if (c.Batch.Pairs.Any(p => p.ChosenParts is not null || p.RejectedParts is not null))
                mask = mask * CompletionAnnotations.LabelMask(c.Batch.Pairs, mask.shape[1], mask.dtype, mask.device);
            var reference = request.WithReference ? c.Reference.TokenLogProbs(c.Batch, c.Device) : null; // (2B, Tc)
            int b = c.Batch.Count;
            return new TokenLogProbs(policy[..b], reference?[..b], mask[..b], policy[b..], reference?[b..], mask[b..]);
        }
    }
}
