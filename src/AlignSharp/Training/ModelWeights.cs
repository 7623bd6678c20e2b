using AlignSharp.Checkpoints;
using AlignSharp.Models;

namespace AlignSharp.Training;

/// <summary>Model weights inside a training checkpoint: a Hugging Face folder (config.json + model.safetensors), exact and loadable by transformers.</summary>
internal static class ModelWeights
{
    /// <summary>Writes the model into <paramref name="dir"/>, which must not exist yet (it is created atomically).</summary>
    public static void Save(CausalLM model, string dir) => HfCheckpoint.Save(model, dir);

    /// <summary>Restores weights in place, checking every name and shape.</summary>
    public static void Load(CausalLM model, string dir) => HfCheckpoint.LoadWeights(model, dir);
}
