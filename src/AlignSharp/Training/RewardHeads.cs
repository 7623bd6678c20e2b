using AlignSharp.Checkpoints;
using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Objectives;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Provides <see cref="HeadRewards"/>: a reward head's output on every row of a batch of pairs, (B) chosen and (B)
/// rejected, with gradient into the head and the decoder under it. One forward of the decoder per batch besides the
/// log-prob forward (a reward model's objective reads no log-probs, so the trainer then skips that one). The batch
/// must be padded with the head's pad id; the run builds both from one pad rule.
/// </summary>
public sealed class HeadRewardProvider(RewardModel head) : InputProvider<HeadRewards, PairValues>
{
    /// <inheritdoc />
    protected override PairValues Value(HeadRewards request, InputContext c)
    {
        if (c.Batch.Kind != BatchKind.Pairs)
            throw new ObjectiveException("reward-head outputs are given for batches of pairs only");
        if (c.Policy.DataParallel is { Size: > 1 })
            throw new ObjectiveException("reward heads train in one process (not under mpirun) for now");
        var rewards = head.Rewards(c.Batch.InputIds.to(c.Device), c.Batch.AttentionMask.to(c.Device)); // (2B)
        int b = c.Batch.Count;
        return new PairValues(rewards[..b], rewards[b..]); // (2B) -> (B), (B)
    }
}

/// <summary>
/// A reward model's trainable weights: the decoder (without a separate LM head) and <c>score.weight</c>; checkpoints
/// are reward-model folders in transformers' sequence-classification layout (<see cref="RewardModelFolder"/>).
/// </summary>
public sealed class RewardModelWeights(RewardModel model) : ITrainableWeights
{
    /// <inheritdoc />
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => model.NamedParameters;

    /// <inheritdoc />
    public void Save(string dir) => RewardModelFolder.WriteInto(model, dir, new HfSaveOptions());

    /// <inheritdoc />
    public void Load(string dir) => RewardModelFolder.LoadWeights(model, dir);
}

/// <summary>
/// A policy trained with a reward head on it (Direct Preference Heads): every policy parameter and the head's
/// <c>score.weight</c>. Checkpoints are the policy's Hugging Face folder plus <see cref="HeadFile"/>.
/// </summary>
public sealed class PolicyWithHeadWeights(RewardModel head) : ITrainableWeights
{
    /// <summary>The head's file beside the policy's weights: <c>score.weight</c> [1, C].</summary>
    public const string HeadFile = "reward_head.safetensors";

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters =>
        [.. head.Backbone.named_parameters().Where(p => p.parameter.requires_grad), (RewardModel.ScoreName, head.Score)];

    /// <inheritdoc />
    public void Save(string dir)
    {
        ModelWeights.Save(head.Backbone, dir);
        SaveHead(head, dir);
    }

    /// <inheritdoc />
    public void Load(string dir)
    {
        ModelWeights.Load(head.Backbone, dir);
        string path = Path.Combine(dir, HeadFile);
        if (!File.Exists(path)) throw new CheckpointException($"{dir}: {HeadFile} (the reward head) is missing");
        using var file = SafetensorsFile.Open(path);
        if (!file.Tensors.TryGetValue(RewardModel.ScoreName, out var entry) || !entry.Shape.SequenceEqual(head.Score.shape))
            throw new CheckpointException(
                $"{path}: needs '{RewardModel.ScoreName}' of shape [{string.Join(", ", head.Score.shape)}]");
        using var _ = no_grad();
        using var t = file.Read(RewardModel.ScoreName);
        head.Score.copy_(t);
    }

    /// <summary>Writes the head's weight into <paramref name="dir"/> as <see cref="HeadFile"/> (atomically).</summary>
    public static void SaveHead(RewardModel head, string dir)
    {
        using var score = head.Score.detach();
        SafetensorsFile.Write(Path.Combine(dir, HeadFile), new Dictionary<string, Tensor> { [RewardModel.ScoreName] = score });
    }
}
