using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using AlignSharp.Objectives.TokenLevel;
using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>One batch of a vector case: its inputs and, in golden files, the expected losses.</summary>
public sealed record VectorBatch(JsonObject Inputs, double[]? ExpectedLosses, double? ExpectedLoss)
{
    /// <summary>The whole <c>expected</c> object (for outputs that are not losses, e.g. token_rewards).</summary>
    public JsonObject? Expected { get; init; }
}

/// <summary>One case of a vector file: an objective id, its parameters and batches applied in order to one fresh instance.</summary>
public sealed record VectorCase(int Index, string Objective, JsonObject Params, IReadOnlyList<VectorBatch> Batches)
{
    /// <summary>The parameters as <see cref="ObjectiveParams"/> (numbers and booleans in invariant text).</summary>
    public ObjectiveParams ToParams() => new(Params.ToDictionary(p => p.Key, p => p.Value switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValueKind() == JsonValueKind.True ? "true" : "false",
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        _ => throw new ObjectiveException($"case {Index} ('{Objective}'): parameter '{p.Key}' must be a number, boolean or string"),
    }));

    /// <inheritdoc />
    public override string ToString() => $"{Index}:{Objective}({string.Join(",", Params.Select(p => $"{p.Key}={p.Value?.ToJsonString()}"))})";
}

/// <summary>Computed result of one batch.</summary>
public sealed record VectorResult(double[] Losses, double Loss)
{
    /// <summary>
    /// For outputs that are not losses (token_rewards): the named arrays printed instead of losses/loss
    /// (<c>token_rewards</c>, <c>cumulative_rewards</c>, <c>sequence_rewards</c>).
    /// </summary>
    public JsonObject? Outputs { get; init; }
}

/// <summary>
/// Files in the golden-vector schemas ("preference-objective-vectors/1" and the token-level
/// "preference-objective-vectors-tokenlevel/1", see the specs' last sections): reading them and computing every
/// case with the library, in float64. The CLI's <c>objectives eval</c> and the golden tests share this code.
/// Token-level inputs ((B, T), (B, N, T), (B, N, T, H) arrays) reach the objectives as extras by key.
/// </summary>
public static class ObjectiveVectors
{
    /// <summary>The sequence-level schema tag.</summary>
    public const string Schema = "preference-objective-vectors/1";

    /// <summary>The token-level schema tag.</summary>
    public const string TokenLevelSchema = "preference-objective-vectors-tokenlevel/1";

    private static readonly HashSet<string> PairKeys =
    [
        "policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps", "reference_rejected_logps",
        "chosen_lengths", "rejected_lengths", "step", "max_steps",
    ];

    private static readonly HashSet<string> UnpairedKeys = ["policy_logps", "reference_logps", "labels", "kl_policy_logps", "kl_reference_logps"];

    /// <summary>Reads a vector file; returns its seed (0 when absent) and cases. Errors name the file and the case.</summary>
    public static (ulong Seed, IReadOnlyList<VectorCase> Cases) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"vector file not found: {path}", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new ObjectiveException($"{path}: invalid JSON ({e.Message})"); }
        if (root is not JsonObject obj) throw new ObjectiveException($"{path}: top level must be a JSON object");
        if (obj["schema"] is JsonNode schema && schema.GetValueKind() == JsonValueKind.String
            && schema.GetValue<string>() is not (Schema or TokenLevelSchema))
            throw new ObjectiveException($"{path}: schema '{schema.GetValue<string>()}' is not '{Schema}' or '{TokenLevelSchema}'");
        ulong seed = obj["seed"] is JsonValue s && s.TryGetValue<ulong>(out var sv) ? sv : 0;
        if (obj["cases"] is not JsonArray cases) throw new ObjectiveException($"{path}: missing array 'cases'");
        var result = new List<VectorCase>();
        for (int i = 0; i < cases.Count; i++)
        {
            string where = $"{path}: case {i}";
            if (cases[i] is not JsonObject c) throw new ObjectiveException($"{where}: must be an object");
            string id = c["objective"] is JsonValue idv && idv.GetValueKind() == JsonValueKind.String
                ? idv.GetValue<string>() : throw new ObjectiveException($"{where}: missing string 'objective'");
            var parameters = c["params"] as JsonObject ?? [];
            if (c["batches"] is not JsonArray batches || batches.Count == 0) throw new ObjectiveException($"{where} ('{id}'): missing non-empty array 'batches'");
            var list = new List<VectorBatch>();
            for (int b = 0; b < batches.Count; b++)
            {
                var batch = batches[b] as JsonObject ?? throw new ObjectiveException($"{where} ('{id}'), batch {b}: must be an object");
                var inputs = batch["inputs"] as JsonObject ?? throw new ObjectiveException($"{where} ('{id}'), batch {b}: missing object 'inputs'");
                var expected = batch["expected"] as JsonObject;
                list.Add(new VectorBatch(inputs,
                    expected?["losses"] is JsonArray el ? [.. el.Select(x => x!.GetValue<double>())] : null,
                    expected?["loss"] is JsonValue lv ? lv.GetValue<double>() : null) { Expected = expected });
            }
            result.Add(new VectorCase(i, id, (JsonObject)parameters.DeepClone(), list));
        }
        return (seed, result);
    }

    /// <summary>
    /// Computes one case: a fresh objective from the catalog, every batch applied in order in a training
    /// context (so stateful objectives update as the vectors describe), with step/max_steps from the inputs and a
    /// generator seeded with <paramref name="seed"/>. Errors name the case and batch.
    /// </summary>
    public static IReadOnlyList<VectorResult> Evaluate(VectorCase c, ulong seed = 0)
    {
        string where = $"case {c.Index} ('{c.Objective}')";
        if (ObjectiveCatalog.Outputs.Any(o => o.Id == c.Objective)) return EvaluateOutput(c, where);
        IPreferenceObjective objective;
        try { objective = ObjectiveCatalog.Create(c.Objective, c.ToParams()); }
        catch (ObjectiveException e) { throw new ObjectiveException($"{where}: {e.Message}"); }
        var generator = new Generator(seed, torch.CPU);
        var results = new List<VectorResult>();
        for (int b = 0; b < c.Batches.Count; b++)
        {
            using var scope = NewDisposeScope();
            try
            {
                var inputs = c.Batches[b].Inputs;
                var context = new ObjectiveContext(true, Integer(inputs, "step", 0), Integer(inputs, "max_steps", 1), generator);
                var output = inputs.ContainsKey("labels") && objective is IUnpairedObjective unpaired
                    ? unpaired.Compute(ToUnpaired(inputs), context)
                    : objective.Compute(ToPairs(inputs), context);
                var losses = PairInputs.Values(output.Losses);
                results.Add(new VectorResult(losses, losses.Average()));
            }
            catch (ObjectiveException e) { throw new ObjectiveException($"{where}, batch {b}: {e.Message}"); }
        }
        return results;
    }

    /// <summary>token_rewards: per-token, cumulative and sequence rewards of every batch.</summary>
    private static IReadOnlyList<VectorResult> EvaluateOutput(VectorCase c, string where)
    {
        var results = new List<VectorResult>();
        for (int b = 0; b < c.Batches.Count; b++)
        {
            using var scope = NewDisposeScope();
            try
            {
                var r = TokenRewards.Compute(ToPairs(c.Batches[b].Inputs), c.ToParams());
                var outputs = new JsonObject
                {
                    ["token_rewards"] = ToJson(r.TokenRewards),
                    ["cumulative_rewards"] = ToJson(r.CumulativeRewards),
                    ["sequence_rewards"] = ToJson(r.SequenceRewards),
                };
                results.Add(new VectorResult([], double.NaN) { Outputs = outputs });
            }
            catch (ObjectiveException e) { throw new ObjectiveException($"{where}, batch {b}: {e.Message}"); }
        }
        return results;
    }

    /// <summary>A float64 tensor of any rank as nested JSON arrays.</summary>
    internal static JsonNode ToJson(Tensor t)
    {
        var values = PairInputs.Values(t.reshape(-1));
        var shape = t.shape;
        int offset = 0;
        JsonNode Build(int dim)
        {
            var array = new JsonArray();
            for (long i = 0; i < shape[dim]; i++)
                array.Add(dim == shape.Length - 1 ? JsonValue.Create(values[offset++]) : Build(dim + 1));
            return array;
        }
        return shape.Length == 0 ? JsonValue.Create(values[0]) : Build(0);
    }

    /// <summary>Builds float64 (B) pair statistics from golden inputs; every other array key becomes an extra ((B) or (B, E)).</summary>
    public static PairStats ToPairs(JsonObject inputs)
    {
        var extras = new Dictionary<string, Tensor>();
        foreach (var (key, node) in inputs)
            if (!PairKeys.Contains(key)) extras[key] = ToTensor(key, node);
        long n = inputs.ContainsKey("policy_chosen_logps") ? Vector(inputs, "policy_chosen_logps").shape[0]
            : extras.Count > 0 ? extras.Values.First().shape[0]
            : throw new ObjectiveException("inputs have no 'policy_chosen_logps'");
        // Reward-head objectives (dph_*) have no log-prob inputs: zeros and unit lengths stand in.
        Tensor Or(string key, Func<Tensor> fallback) => inputs.ContainsKey(key) ? Vector(inputs, key) : fallback();
        return new PairStats(
            Or("policy_chosen_logps", () => zeros(n, ScalarType.Float64)),
            Or("policy_rejected_logps", () => zeros(n, ScalarType.Float64)),
            inputs.ContainsKey("reference_chosen_logps") ? Vector(inputs, "reference_chosen_logps") : null,
            inputs.ContainsKey("reference_rejected_logps") ? Vector(inputs, "reference_rejected_logps") : null,
            Or("chosen_lengths", () => ones(n, ScalarType.Float64)),
            Or("rejected_lengths", () => ones(n, ScalarType.Float64)))
        { Extras = extras };
    }

    /// <summary>Builds float64 unpaired statistics (KTO) from golden inputs.</summary>
    public static UnpairedStats ToUnpaired(JsonObject inputs)
    {
        foreach (var key in inputs.Select(p => p.Key).Where(k => !UnpairedKeys.Contains(k) && k is not "step" and not "max_steps"))
            throw new ObjectiveException($"unpaired inputs have an unknown key '{key}'");
        return new UnpairedStats(Vector(inputs, "policy_logps"), Vector(inputs, "reference_logps"), Vector(inputs, "labels"),
            Vector(inputs, "kl_policy_logps"), Vector(inputs, "kl_reference_logps"));
    }

    /// <summary>The results as the CLI prints them: <c>{"cases": [{"objective", "params", "batches": [{"losses", "loss"}]}]}</c>.</summary>
    public static JsonObject ToJson(IEnumerable<(VectorCase Case, IReadOnlyList<VectorResult> Results)> results)
    {
        var cases = new JsonArray();
        foreach (var (c, rs) in results)
        {
            var batches = new JsonArray();
            foreach (var r in rs)
                batches.Add(r.Outputs is { } outputs ? outputs.DeepClone() : new JsonObject { ["losses"] = new JsonArray([.. r.Losses.Select(x => (JsonNode)JsonValue.Create(x))]), ["loss"] = r.Loss });
            cases.Add(new JsonObject { ["objective"] = c.Objective, ["params"] = c.Params.DeepClone(), ["batches"] = batches });
        }
        return new JsonObject { ["cases"] = cases };
    }

    private static Tensor Vector(JsonObject inputs, string key)
    {
        var t = ToTensor(key, inputs[key] ?? throw new ObjectiveException($"missing input '{key}'"));
        return t.dim() == 1 ? t : throw new ObjectiveException($"input '{key}' must be a flat array of numbers");
    }

    /// <summary>A rectangular nested array of numbers as a float64 tensor of its rank ((B), (B, T), (B, N, T, H), ...).</summary>
    private static Tensor ToTensor(string key, JsonNode? node)
    {
        if (node is not JsonArray) throw new ObjectiveException($"input '{key}' must be an array");
        var shape = new List<long>();
        for (JsonNode? n = node; n is JsonArray a; n = a.Count > 0 ? a[0] : null) shape.Add(a.Count);
        var flat = new List<double>();
        void Walk(JsonNode? n, int dim, string at)
        {
            if (dim == shape.Count)
            {
                flat.Add(Number(key, n, at));
                return;
            }
            if (n is not JsonArray a || a.Count != shape[dim])
                throw new ObjectiveException($"input '{key}{at}' must be an array of {shape[dim]} entries (rectangular)");
            for (int i = 0; i < a.Count; i++) Walk(a[i], dim + 1, $"{at}[{i}]");
        }
        Walk(node, 0, "");
        return tensor(flat.ToArray(), [.. shape]); // (d0, d1, ...)
    }

    private static double Number(string key, JsonNode? x, string at) =>
        x is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw new ObjectiveException($"input '{key}{at}' must be a number");

    private static long Integer(JsonObject inputs, string key, long fallback) =>
        inputs[key] is null ? fallback
        : inputs[key] is JsonValue v && v.TryGetValue<long>(out var l) ? l
        : throw new ObjectiveException($"input '{key}' must be an integer, got {inputs[key]!.ToJsonString()}");

    /// <summary>A number in invariant culture, for messages.</summary>
    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
