using System.Globalization;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>One weighted term of a combination, as a config lists it: an objective id, its weight and its parameters.</summary>
public sealed record ObjectiveTerm(string Id, double Weight, ObjectiveParams Params);

/// <summary>
/// A weighted sum of objectives, e.g. dpo 1.0 + bco 0.2 + sft 0.1: <c>loss_i = Σ_k w_k loss_k,i</c>.
/// Needs a reference when any member does; rewards and reduction are the first member's. Member metrics are
/// reported as "{id}/loss" and "{id}/{metric}". Stateful members keep their state; it is saved and restored
/// together, member by member.
/// </summary>
public sealed class CombinedObjective : IPreferenceObjective, IStatefulObjective
{
    private readonly (IPreferenceObjective Objective, double Weight, string Prefix)[] members;

    /// <summary>Combines already-created objectives with their weights.</summary>
    public CombinedObjective(IReadOnlyList<(IPreferenceObjective Objective, double Weight)> terms)
    {
        if (terms.Count == 0) throw new ObjectiveException("a combined objective needs at least one term");
        var seen = new Dictionary<string, int>();
        members = new (IPreferenceObjective, double, string)[terms.Count];
        for (int k = 0; k < terms.Count; k++)
        {
            var (objective, weight) = terms[k];
            if (!double.IsFinite(weight))
                throw new ObjectiveException($"objective term {k} ('{objective.Id}'): weight must be a finite number, got {weight.ToString(CultureInfo.InvariantCulture)}");
            seen[objective.Id] = seen.GetValueOrDefault(objective.Id) + 1;
            string prefix = seen[objective.Id] == 1 ? objective.Id : $"{objective.Id}#{seen[objective.Id]}";
            members[k] = (objective, weight, prefix);
        }
    }

    /// <summary>Creates every term through the catalog (unknown ids and parameters are errors naming them).</summary>
    public static CombinedObjective Create(IEnumerable<ObjectiveTerm> terms) =>
        new([.. terms.Select(t => (ObjectiveCatalog.Create(t.Id, t.Params), t.Weight))]);

    /// <summary>The members and their weights, in order.</summary>
    public IReadOnlyList<(IPreferenceObjective Objective, double Weight)> Members => [.. members.Select(m => (m.Objective, m.Weight))];

    /// <inheritdoc />
    public string Id => string.Join("+", members.Select(m => $"{m.Weight.ToString("R", CultureInfo.InvariantCulture)}*{m.Objective.Id}"));

    /// <inheritdoc />
    public bool NeedsReference => members.Any(m => m.Objective.NeedsReference);

    /// <inheritdoc />
    public LogProbReduction Reduction => members[0].Objective.Reduction;

    /// <summary>Every member's requests, each once.</summary>
    public IReadOnlyList<InputRequest> Inputs => [.. members.SelectMany(m => m.Objective.Inputs).Distinct()];

    /// <inheritdoc />
    public bool ReadsLogProbs => members.Any(m => m.Objective.ReadsLogProbs);

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats stats, ObjectiveContext context)
    {
        Tensor? total = null;
        ObjectiveOutput? first = null;
        var metrics = new Dictionary<string, Tensor>();
        foreach (var (objective, weight, prefix) in members)
        {
            var output = objective.Compute(stats, context);
            first ??= output;
            var term = weight * output.Losses;
            total = total is null ? term : total + term;
            metrics[$"{prefix}/loss"] = output.Losses.detach().mean();
            foreach (var (name, value) in output.Metrics) metrics[$"{prefix}/{name}"] = value;
        }
        return new ObjectiveOutput(total!, first!.ChosenRewards, first.RejectedRewards) { Metrics = metrics };
    }

    /// <inheritdoc />
    public JsonObject SaveState()
    {
        var list = new JsonArray();
        foreach (var (objective, _, _) in members)
            list.Add(new JsonObject { ["id"] = objective.Id, ["state"] = (objective as IStatefulObjective)?.SaveState() });
        return new JsonObject { ["members"] = list };
    }

    /// <inheritdoc />
    public void LoadState(JsonObject state)
    {
        if (state["members"] is not JsonArray list || list.Count != members.Length)
            throw new ObjectiveException($"combined objective '{Id}': saved state must list {members.Length} members");
        for (int k = 0; k < members.Length; k++)
        {
            var objective = members[k].Objective;
            var saved = list[k] as JsonObject;
            string? id = saved?["id"]?.GetValue<string>();
            if (id != objective.Id)
                throw new ObjectiveException($"combined objective '{Id}': saved state member {k} is '{id}', expected '{objective.Id}'");
            if (objective is IStatefulObjective stateful)
                stateful.LoadState(saved!["state"] as JsonObject
                    ?? throw new ObjectiveException($"combined objective '{Id}': saved state member {k} ('{id}') has no state"));
        }
    }
}
