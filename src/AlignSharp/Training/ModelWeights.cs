using AlignSharp.Checkpoints;
using AlignSharp.Models;

namespace AlignSharp.Training;

/// <summary>Model weights inside a training checkpoint: a Hugging Face folder (config.json + model.safetensors), exact and loadable by transformers.</summary>
internal static class ModelWeights
{
    /// <summary>Writes the model into the existing (temporary) checkpoint folder <paramref name="dir"/>.</summary>
    public static void Save(CausalLM model, string dir) => HfCheckpoint.WriteInto(model, dir, new HfSaveOptions());

    /// <summary>Restores weights in place, checking every name and shape.</summary>
    public static void Load(CausalLM model, string dir) => HfCheckpoint.LoadWeights(model, dir);
}
