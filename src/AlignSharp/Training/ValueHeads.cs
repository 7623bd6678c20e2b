using AlignSharp.Checkpoints;
using AlignSharp.Data;
using AlignSharp.Objectives;
using AlignSharp.Objectives.TokenLevel;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Provides OREO's <see cref="OreoInputs"/> for a batch of outcome records (one solution per row): the value head's
/// estimates V(s_t) (B, T) from the policy's hidden state just before each token, detached from the policy (the
/// critic loss trains the head only; the policy learns from the actor loss), the state positions (every token for a
/// <c>solution</c> text, each step's first token for a <c>steps</c> list) and the outcome rewards (B).
/// </summary>
public sealed class ValueHeadProvider(ValueHead head) : InputProvider<OreoInputs, OreoTargets>
{
    /// <inheritdoc />
    protected override OreoTargets Value(OreoInputs request, InputContext c)
    {
        var trees = ResponseInputs.Trees(c, request);
        if (trees.Any(t => t.Count != 1))
            throw new ObjectiveException("OREO reads one solution per record (`outcome` records)");
        var rows = c.PolicyRows;
        var hidden = rows.TokenHidden
            ?? throw new InvalidOperationException("the policy forward kept no per-token hidden states"); // (B, T, C)
        var values = head.forward(hidden.detach()).to(rows.Tokens!.dtype); // (B, T, C) -> (B, T)
        long width = values.shape[1];
        var steps = ResponseInputs.StepIds(trees, width, c.Device); // (B, T)
        var previous = nn.functional.pad(steps, [1, 0], value: 0)[.., ..(int)width]; // (B, T): step id of token t-1
        var everyToken = tensor(trees.Select(t => t.Example.EveryTokenIsState).ToArray(), device: c.Device)
            .unsqueeze(1); // (B) -> (B, 1)
        var states = rows.TokenMask!.to(ScalarType.Bool) & (everyToken | steps.ne(previous)); // (B, T)
        var rewards = ResponseInputs.Scores(trees, values.dtype, c.Device)[.., 0]; // (B, 1) -> (B)
        return new OreoTargets(values, states.to(values.dtype), rewards, null);
    }
}

/// <summary>
/// A policy's trainable weights (the whole model, or an adapter) together with OREO's value head: the optimizer
/// updates both, checkpoints store both (the policy as before, the head as <see cref="HeadFile"/> beside it), and
/// resume restores both exactly.
/// </summary>
public sealed class ValueHeadWeights(ITrainableWeights policy, ValueHead head) : ITrainableWeights
{
    /// <summary>The head's file beside the policy's weights: <c>value_head.proj.weight</c> [1, C], <c>.bias</c> [1].</summary>
    public const string HeadFile = "value_head.safetensors";

    private const string Prefix = "value_head.";

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters =>
        [.. policy.Parameters, .. head.named_parameters().Select(p => (Prefix + p.name, p.parameter))];

    /// <inheritdoc />
    public void Save(string dir)
    {
        policy.Save(dir);
        SaveHead(head, dir);
    }

    /// <inheritdoc />
    public void Load(string dir)
    {
        policy.Load(dir);
        LoadHead(head, dir);
    }

    /// <summary>Writes the head's parameters into <paramref name="dir"/> as <see cref="HeadFile"/> (atomically).</summary>
    public static void SaveHead(ValueHead head, string dir)
    {
        using var scope = NewDisposeScope();
        var tensors = head.named_parameters().ToDictionary(p => Prefix + p.name, p => p.parameter.detach());
        SafetensorsFile.Write(Path.Combine(dir, HeadFile), tensors);
    }

    /// <summary>Restores the head's parameters from <paramref name="dir"/>, checking every name and shape.</summary>
    public static void LoadHead(ValueHead head, string dir)
    {
        string path = Path.Combine(dir, HeadFile);
        if (!File.Exists(path)) throw new CheckpointException($"{dir}: {HeadFile} (OREO's value head) is missing");
        using var file = SafetensorsFile.Open(path);
        using var _ = no_grad();
        foreach (var (name, p) in head.named_parameters())
        {
            string key = Prefix + name;
            if (!file.Tensors.TryGetValue(key, out var entry) || !entry.Shape.SequenceEqual(p.shape))
                throw new CheckpointException($"{path}: needs '{key}' of shape [{string.Join(", ", p.shape)}]");
            using var t = file.Read(key);
            p.copy_(t);
        }
    }
}
