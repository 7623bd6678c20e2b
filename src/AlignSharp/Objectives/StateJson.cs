using System.Text.Json.Nodes;

namespace AlignSharp.Objectives;

/// <summary>Reading objective state written by <see cref="IStatefulObjective.SaveState"/>, with errors naming the key.</summary>
internal static class StateJson
{
    /// <summary>A required finite number.</summary>
    public static double Number(JsonObject state, string objective, string key)
    {
        if (state[key] is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d)) return d;
        throw new ObjectiveException($"objective '{objective}': saved state has no finite number '{key}'");
    }
}
