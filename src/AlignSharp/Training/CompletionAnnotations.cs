using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Data.Formats;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// The one map from a token-level objective's <see cref="CompletionAnnotation"/> to the values its data format
/// gives, per pair and side, aligned with the completion tokens (<see cref="TokenizedPair.ChosenParts"/>): SCDPO's
/// shared-prefix length, DMPO's turn ids and turn counts, SDPO's segment mask, BMC's diff mask. A plain pair (no
/// parts) is one turn, one segment and no shared prefix, so each objective reduces to DPO on it (the spec's limit
/// identities); BMC's diff mask exists only for `edit` records.
/// </summary>
internal static class CompletionAnnotations
{
    /// <summary>How one annotation is read from a tokenized pair.</summary>
    /// <param name="Values">The values of one side: one per completion token (Dims 2) or one (Dims 1).</param>
    /// <param name="Missing">Why a pair cannot give it (null when it can).</param>
    private sealed record Rule(Func<Side, double[]> Values, Func<TokenizedPair, string?> Missing);

    /// <summary>One completion of a pair: its tokens, their parts and diff mask, and the pair's annotations.</summary>
    internal sealed record Side(int[] Tokens, int[]? PartOf, IReadOnlyList<CompletionPart>? Parts, int[]? Diff,
        PairAnnotations? Annotations)
    {
        public static Side Chosen(TokenizedPair p) =>
            new(p.Chosen, p.ChosenParts, p.Example.Annotations?.Chosen, p.ChosenDiff, p.Example.Annotations);

        public static Side Rejected(TokenizedPair p) =>
            new(p.Rejected, p.RejectedParts, p.Example.Annotations?.Rejected, p.RejectedDiff, p.Example.Annotations);

        /// <summary>The part of token t, or null for plain text.</summary>
        public CompletionPart? Part(int t) => PartOf is null || Parts is null ? null : Parts[PartOf[t]];

        /// <summary>Per token: the value of <paramref name="f"/> on its part (null part for plain text).</summary>
        public double[] PerToken(Func<CompletionPart?, double> f) =>
            [.. Enumerable.Range(0, Tokens.Length).Select(t => f(Part(t)))];
    }

    private static readonly Dictionary<CompletionAnnotation, Rule> Rules = new()
    {
        [Scdpo.PrefixLengths] = new(
            s => [s.PerToken(p => p is { Kind: PartKind.Step } step && step.Index < s.Annotations!.PrefixSteps ? 1 : 0)
                .Sum()],
            _ => null),
        [Dmpo.TurnIds] = new(s => s.PerToken(p => p is null ? 0 : p.Kind == PartKind.AgentTurn ? p.Index : -1),
            _ => null),
        [Dmpo.NumTurns] = new(s => [Math.Max(1, s.Parts?.Count(p => p.Kind == PartKind.AgentTurn) ?? 1)], _ => null),
        [Sdpo.SegmentMask] = new(
            s => s.PerToken(p => p is null || (p.InSegment && p.Kind == PartKind.AgentTurn) ? 1 : 0), _ => null),
        [Bmc.DiffMask] = new(s => [.. s.Diff!.Select(d => (double)d)],
            p => p.ChosenDiff is null
                ? "has no diff masks: BMC reads `edit` records (data.format: edit; chosen = a minimal edit of "
                    + "rejected), whose diff masks are computed from the two token sequences"
                : null),
    };

    /// <summary>True when <paramref name="request"/> is an annotation this map gives.</summary>
    public static bool Gives(InputRequest request) => request is CompletionAnnotation a && Rules.ContainsKey(a);

    /// <summary>The first pair that cannot give <paramref name="request"/>, as a data error naming it.</summary>
    public static void Check(string owner, CompletionAnnotation request, IReadOnlyList<TokenizedPair> pairs)
    {
        foreach (var p in pairs)
            if (Rules[request].Missing(p) is { } why)
                throw new DataException(p.Example.Source, $"objective '{owner}' needs '{request.Name}': the record {why}");
    }

    /// <summary>
    /// The chosen and rejected values of <paramref name="request"/> for <paramref name="pairs"/>: (B) each, or (B, T)
    /// with <paramref name="width"/> columns (T, the per-token log-probs' width), padded with 0 (-1 for turn ids).
    /// </summary>
    public static PairValues Of(CompletionAnnotation request, IReadOnlyList<TokenizedPair> pairs, long width,
        ScalarType dtype, Device device)
    {
        var rule = Rules[request];
        foreach (var p in pairs)
            if (rule.Missing(p) is { } why)
                throw new DataException(p.Example.Source, $"'{request.Name}': the record {why}");
        double pad = request == Dmpo.TurnIds ? -1 : 0;
        Tensor Stack(Func<TokenizedPair, Side> side)
        {
            var rows = pairs.Select(p => rule.Values(side(p))).ToList();
            if (request.Dims == 1) return tensor(rows.Select(r => r[0]).ToArray()).to(dtype).to(device); // (B)
            var flat = new double[rows.Count * width];
            Array.Fill(flat, pad);
            for (int b = 0; b < rows.Count; b++)
                Array.Copy(rows[b], 0, flat, b * width, Math.Min(rows[b].Length, width));
            return tensor(flat, [rows.Count, width]).to(dtype).to(device); // (B*T) -> (B, T)
        }
        return new PairValues(Stack(Side.Chosen), Stack(Side.Rejected));
    }

    /// <summary>
    /// 1 where a completion token is a label, per row of the batch (2B, <paramref name="width"/>): every token of
    /// plain text and steps, the agent's turns of a trajectory or dialogue (never another speaker's turn).
    /// </summary>
    public static Tensor LabelMask(IReadOnlyList<TokenizedPair> pairs, long width, ScalarType dtype, Device device)
    {
        var sides = pairs.Select(Side.Chosen).Concat(pairs.Select(Side.Rejected)).ToList();
        var flat = new double[sides.Count * width];
        for (int r = 0; r < sides.Count; r++)
        {
            var labels = sides[r].PerToken(p => p is null || p.IsLabel ? 1 : 0);
            Array.Copy(labels, 0, flat, r * width, Math.Min(labels.Length, width));
        }
        return tensor(flat, [sides.Count, width]).to(dtype).to(device); // (2B*Tc) -> (2B, Tc)
    }
}

/// <summary>Gives the token-level annotations (<see cref="CompletionAnnotations"/>) of each batch of pairs.</summary>
internal sealed class AnnotationProvider : IInputProvider, IDataRequirement
{
    /// <inheritdoc />
    public bool Provides(InputRequest request) => CompletionAnnotations.Gives(request);

    /// <inheritdoc />
    public ObjectiveInputs Provide(InputRequest request, InputContext c, ObjectiveInputs inputs)
    {
        if (c.Batch.Kind != BatchKind.Pairs)
            throw new ObjectiveException("token-level annotations are given for batches of pairs only");
        long width = c.PolicyRows.TokenMask?.shape[1] ?? c.Batch.Pairs.Max(p => Math.Max(p.Chosen.Length, p.Rejected.Length));
        var annotation = (CompletionAnnotation)request;
        return inputs.With(annotation, CompletionAnnotations.Of(annotation, c.Batch.Pairs, width,
            c.PolicyRows.Sums.dtype, c.Device));
    }

    /// <inheritdoc />
    public void Check(string owner, InputRequest request, IExampleSet examples)
    {
        if (examples is PairExamples pairs) CompletionAnnotations.Check(owner, (CompletionAnnotation)request, pairs.Items);
    }
}

/// <summary>
/// Sr-DPO's second pass: both completions scored after the refinement prompt (<see cref="TokenizedPair.RefinedPrompt"/>)
/// by the policy and the reference, without gradient (Δ is a stop-gradient quantity).
/// </summary>
internal sealed class RefinedProvider : InputProvider<RefinedLogProbs, RefinedSums>, IDataRequirement
{
    private const string Why =
        "has no refinement prompt: Sr-DPO reads `refinement` records (data.format: refinement; the paper's prompt "
        + "when the record gives none)";

    /// <inheritdoc />
    protected override RefinedSums Value(RefinedLogProbs request, InputContext c)
    {
        using var _ = no_grad();
        var pairs = c.Batch.Pairs.Select(p => p with
        {
            Prompt = p.RefinedPrompt ?? throw new DataException(p.Example.Source, $"the record {Why}"),
        }).ToList();
        using var refined = PreferenceCollator.Collate(pairs, padId: 0); // pad slots are masked
        int b = pairs.Count;
        var policy = BatchLogProbs.Of(c.Policy, refined, c.Device).Sums; // (2B)
        var reference = c.Reference.LogProbs(refined, c.Device)
            ?? throw new ObjectiveException("Sr-DPO needs reference log-probs for its refinement term");
        return new RefinedSums(policy[..b], policy[b..], reference[..b].to(policy.dtype), reference[b..].to(policy.dtype));
    }

    /// <inheritdoc />
    public void Check(string owner, InputRequest request, IExampleSet examples)
    {
        if (examples is not PairExamples pairs) return;
        foreach (var p in pairs.Items)
            if (p.RefinedPrompt is null)
                throw new DataException(p.Example.Source, $"objective '{owner}' needs a refinement prompt: the record {Why}");
    }
}

/// <summary>A provider whose inputs come from the data: it checks every example before the first step.</summary>
internal interface IDataRequirement
{
    /// <summary>Fails with a <see cref="DataException"/> naming the first example that cannot give the input.</summary>
    void Check(string owner, InputRequest request, IExampleSet examples);
}
