using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// The extra per-pair inputs an objective declares (<see cref="ObjectiveEntry.Inputs"/>): dataset columns mapped to
/// their keys, and the inputs the trainer computes itself: KTO's mismatched-pair log-probs and Relative-PO's prompt
/// embeddings. Inputs no trainer here can provide (a reward head's output) are a clear error up front.
/// </summary>
public sealed class TrainerInputs
{
    /// <summary>Key of the policy log-prob sums of mismatched pairs (KTO's KL estimate).</summary>
    public const string KlPolicy = "kl_policy_logps";
    /// <summary>Key of the reference log-prob sums of the same mismatched pairs.</summary>
    public const string KlReference = "kl_reference_logps";
    /// <summary>Key of per-pair prompt embeddings (B, C).</summary>
    public const string PromptEmbeddings = "prompt_embeddings";

    private readonly IReadOnlyList<ObjectiveInput> inputs;

    /// <summary>Collects what <paramref name="objective"/> (or each member of a combination) declares.</summary>
    public TrainerInputs(IPreferenceObjective objective)
    {
        inputs = Declared(objective).ToList();
        var unsupported = inputs.Where(i => i.Source == InputSource.Trainer && i.Key is not (KlPolicy or KlReference or PromptEmbeddings)).ToList();
        if (unsupported.Count > 0)
            throw new ObjectiveException($"objective '{objective.Id}' needs '{unsupported[0].Key}' ({unsupported[0].Description}), which the trainer cannot provide");
    }

    /// <summary>True when mismatched (prompt i, completion of pair i-1) rows must be scored.</summary>
    public bool NeedsMismatched => inputs.Any(i => i.Key == KlPolicy);

    /// <summary>
    /// Extras for one batch: dataset columns under both their column names and their keys, plus trainer-computed
    /// inputs. Mismatched log-probs and embeddings are computed without gradient.
    /// </summary>
    public Dictionary<string, Tensor> For(PreferenceBatch batch, CausalLM policy, IReferenceStrategy reference, ScalarType dtype, Device device)
    {
        var columns = batch.Extras(dtype).ToDictionary(kv => kv.Key, kv => kv.Value.to(device));
        var extras = new Dictionary<string, Tensor>(columns);
        foreach (var (k, v) in ObjectiveInput.Gather(inputs, columns)) extras[k] = v;
        if (NeedsMismatched)
        {
            using var _ = no_grad();
            using var mismatched = Mismatched(batch);
            extras[KlPolicy] = BatchLogProbs.Of(policy, mismatched, device).Sums; // (2B)
            extras[KlReference] = reference.LogProbs(mismatched, device)
                ?? throw new ObjectiveException("KTO needs reference log-probs for its KL estimate");
        }
        if (inputs.Any(i => i.Key == PromptEmbeddings))
        {
            using var _ = no_grad();
            extras[PromptEmbeddings] = PromptMeans(batch, policy, device);
        }
        return extras;
    }

    /// <summary>Pairs (prompt i, chosen and rejected of pair i-1): 2B rows whose completions do not answer their prompts.</summary>
    private static PreferenceBatch Mismatched(PreferenceBatch batch)
    {
        int b = batch.Count;
        var order = UnpairedStats.MismatchedOrder(b);
        var rows = Enumerable.Range(0, b).Select(i => batch.Pairs[i] with { Chosen = batch.Pairs[order[i]].Chosen, Rejected = batch.Pairs[order[i]].Rejected }).ToList();
        return PreferenceCollator.Collate(rows, padId: 0); // pad slots are masked, so any id works there
    }

    /// <summary>Mean of the policy's final hidden states over each prompt's tokens: (B, C), a sentence embedding of the prompt.</summary>
    private static Tensor PromptMeans(PreferenceBatch batch, CausalLM policy, Device device)
    {
        using var scope = NewDisposeScope();
        int b = batch.Count;
        var ids = batch.InputIds[..b].to(device); // chosen rows carry the prompt: (B, T)
        var promptMask = (batch.AttentionMask[..b] - batch.CompletionMask[..b].to(ScalarType.Int64)).to(device); // (B, T): 1 on prompt tokens
        var hidden = policy.ForwardHidden(ids, promptMask, CausalLM.PositionsFromMask(promptMask)); // (B, T, C)
        var weights = promptMask.to(hidden.dtype).unsqueeze(2); // (B, T) -> (B, T, 1)
        var mean = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1); // (B, C)
        return mean.MoveToOuterDisposeScope();
    }

    private static IEnumerable<ObjectiveInput> Declared(IPreferenceObjective objective) => objective switch
    {
        CombinedObjective c => c.Members.SelectMany(m => Declared(m.Objective)),
        _ => ObjectiveCatalog.Find(objective.Id)?.Inputs ?? [],
    };
}
