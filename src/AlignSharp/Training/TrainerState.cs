using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Data.Batching;

namespace AlignSharp.Training;

/// <summary>
/// Everything besides weights and optimizer moments that a resumed run needs to continue exactly:
/// the step, the data position, the seeded generator's state and any objective state.
/// </summary>
public sealed record TrainerState(int Step, BatchPosition Data, string GeneratorState, JsonObject? ObjectiveState)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes the state as JSON.</summary>
    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(new JsonObject
    {
        ["global_step"] = Step,
        ["epoch"] = Data.Epoch,
        ["batch_in_epoch"] = Data.Batch,
        ["generator_state"] = GeneratorState,
        ["objective_state"] = ObjectiveState?.DeepClone(),
    }, Json));

    /// <summary>Reads state written by <see cref="Write"/>; a damaged file is an error naming it.</summary>
    public static TrainerState Read(string path)
    {
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            return new TrainerState(
                o["global_step"]!.GetValue<int>(),
                new BatchPosition(o["epoch"]!.GetValue<int>(), o["batch_in_epoch"]!.GetValue<int>()),
                o["generator_state"]!.GetValue<string>(),
                o["objective_state"] is JsonObject s ? (JsonObject)s.DeepClone() : null);
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new AlignSharpException($"{path}: damaged trainer state ({e.Message})");
        }
    }
}
