using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// The inputs of batches of scored responses (<see cref="BatchKind.Responses"/>: B prompts, N responses each, as N·B
/// response-major rows) from the step's one policy forward: TPO's <see cref="ResponseTreeInputs"/> (per-token
/// log-probs, masks, step ids and hidden states as (B, N, T[, H]), scores (B, N)) and the per-response token log-probs
/// <see cref="ResponseTokenLogProbs"/> (N·B rows). Nothing full-vocabulary: the log-probs are the scored tokens'
/// and the hidden states are the (R, Tc, C) rows that scored them.
/// Legend: B prompts, N responses, R = N·B rows, T = Tc the longest response, H = C hidden size.
/// </summary>
internal static class ResponseInputs
{
    /// <summary>The trees of a batch of scored responses, or a clear error for any other batch.</summary>
    public static IReadOnlyList<TokenizedTree> Trees(InputContext c, InputRequest request) =>
        c.Batch.Trees ?? throw new ObjectiveException(
            $"{request.Names} are given for batches of scored responses (`tree` or `outcome` records) only");

    /// <summary>Per-token reference log-probs of the batch's rows, as wide as the policy's (R, Tc).</summary>
    public static Tensor Reference(InputContext c, Tensor policy)
    {
        var reference = c.Reference.TokenLogProbs(c.Batch, c.Device)
            ?? throw new ObjectiveException("per-token inputs of scored responses need reference log-probs");
        long width = policy.shape[1];
        if (reference.shape[1] < width)
            reference = nn.functional.pad(reference, [0, width - reference.shape[1]]); // zeros: masked slots
        return reference[.., ..(int)width].to(policy.dtype);
    }

    /// <summary>Step id 1..K of every response token, 0 after the response (R, <paramref name="width"/>).</summary>
    public static Tensor StepIds(IReadOnlyList<TokenizedTree> trees, long width, Device device)
    {
        int n = trees[0].Count, b = trees.Count;
        var flat = new long[n * b * width];
        for (int s = 0; s < n; s++)
            for (int i = 0; i < b; i++)
            {
                var ids = trees[i].StepIds[s];
                for (int t = 0; t < Math.Min(ids.Length, width); t++) flat[(s * b + i) * width + t] = ids[t];
            }
        return tensor(flat, [n * b, width], device: device); // (R*Tc) -> (R, Tc)
    }

    /// <summary>Each tree's scores (B, N): response 0 first (best-scored for trees; the reward for outcomes).</summary>
    public static Tensor Scores(IReadOnlyList<TokenizedTree> trees, ScalarType dtype, Device device) =>
        tensor(trees.SelectMany(t => t.Example.Scores).ToArray(), [trees.Count, trees[0].Count])
            .to(dtype).to(device); // (B*N) -> (B, N)
}

/// <summary>
/// Gives TPO's <see cref="ResponseTreeInputs"/> and the per-row <see cref="ResponseTokenLogProbs"/> of a batch of
/// scored responses (see <see cref="ResponseInputs"/>). TPO needs trees (N ≥ 2); per-row log-probs are read from
/// outcome records (N = 1), one trajectory per row.
/// </summary>
internal sealed class ResponseProvider : IInputProvider, IDataRequirement
{
    /// <inheritdoc />
    public bool Provides(InputRequest request) => request is ResponseTreeInputs or ResponseTokenLogProbs;

    /// <inheritdoc />
    public ObjectiveInputs Provide(InputRequest request, InputContext c, ObjectiveInputs inputs)
    {
        var trees = ResponseInputs.Trees(c, request);
        var rows = c.PolicyRows;
        var policy = rows.Tokens ?? throw new InvalidOperationException("the policy forward kept no per-token log-probs");
        var mask = rows.TokenMask!; // (R, Tc)
        var reference = ResponseInputs.Reference(c, policy); // (R, Tc)
        if (request is ResponseTokenLogProbs single)
            return inputs.With(single, new ResponseTokens(policy, reference, mask));
        int b = trees.Count, n = trees[0].Count;
        long t = policy.shape[1];
        var hidden = rows.TokenHidden
            ?? throw new InvalidOperationException("the policy forward kept no per-token hidden states");
        Tensor Tree(Tensor x) => x.reshape(n, b, t).transpose(0, 1); // (N*B, T) -> (N, B, T) -> (B, N, T)
        var steps = ResponseInputs.StepIds(trees, t, c.Device).to(policy.dtype);
        var tree = new ResponseTree(Tree(policy), Tree(reference), Tree(mask), Tree(steps),
            hidden.reshape(n, b, t, hidden.shape[2]).transpose(0, 1), // (N*B, T, H) -> (N, B, T, H) -> (B, N, T, H)
            ResponseInputs.Scores(trees, policy.dtype, c.Device));
        return inputs.With((ResponseTreeInputs)request, tree);
    }

    /// <inheritdoc />
    public void Check(string owner, InputRequest request, IExampleSet examples)
    {
        if (examples.Count == 0) return;
        if (examples is not TreeExamples trees)
            throw new DataException(examples.Source(0), request is ResponseTreeInputs
                ? $"objective '{owner}' trains on `tree` records (prompt, responses as lists of steps, scores; "
                    + "data.format: tree), not on this data"
                : $"objective '{owner}' trains on `outcome` records (prompt, steps or solution, reward; "
                    + "data.format: outcome), not on this data");
        if (request is ResponseTreeInputs && trees.Items.FirstOrDefault(t => t.Count < 2) is { } single)
            throw new DataException(single.Example.Source,
                $"objective '{owner}' ranks N >= 2 responses per prompt (`tree` records); this record has one");
        if (request is ResponseTokenLogProbs && trees.Items.FirstOrDefault(t => t.Count != 1) is { } many)
            throw new DataException(many.Example.Source,
                $"objective '{owner}' reads one scored solution per record (`outcome` records); this one has "
                + $"{many.Count} responses");
    }
}
