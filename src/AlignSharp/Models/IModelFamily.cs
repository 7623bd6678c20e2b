using System.Text.Json.Nodes;

namespace AlignSharp.Models;

/// <summary>
/// Everything the library knows about one model family, in the family's own file: how its <c>config.json</c> reads and
/// writes, how its module is built, how checkpoint names map onto it, which weights are tied, how positions work, and
/// which linear layers an adapter may target. Registered once in <see cref="ModelFamilies"/>; nothing outside the
/// family's file switches on a family name.
/// </summary>
public interface IModelFamily
{
    /// <summary>Short name used in docs and messages ("gpt2", "llama", ...).</summary>
    string Name { get; }

    /// <summary>The <c>model_type</c> values of <c>config.json</c> this family reads; each must be unique across families.</summary>
    IReadOnlyList<string> ModelTypes { get; }

    /// <summary>
    /// The <c>config.json</c> keys this family reads (besides <c>model_type</c>), for docs/models.md and its test;
    /// <see cref="ParseConfig"/> must read no other key.
    /// </summary>
    IReadOnlyList<string> ConfigKeys { get; }

    /// <summary>Maps a parsed <c>config.json</c> whose <c>model_type</c> is <paramref name="modelType"/>; unsupported
    /// values are errors naming the key.</summary>
    ModelConfig ParseConfig(HfConfigReader config, string modelType);

    /// <summary>Writes the family's keys (architectures, sizes, rope, biases, ...) of <paramref name="config"/> into
    /// <paramref name="json"/>; the common keys (model_type, vocab_size, token ids, dtype) are already set.</summary>
    void WriteConfig(ModelConfig config, JsonObject json);

    /// <summary>
    /// A small config of <paramref name="modelType"/> for tests and demos (hidden 32, 2-3 layers, vocabulary
    /// <paramref name="vocabSize"/>) with the family's distinctive switches on, so tests iterating the registry
    /// exercise them.
    /// </summary>
    ModelConfig TinyConfig(string modelType, int vocabSize);

    /// <summary>Builds a randomly initialised model (seed torch's generator first for reproducibility).</summary>
    CausalLM Create(ModelConfig config);

    /// <summary>Parameter name of the input embedding; a tied LM head is this same Parameter.</summary>
    string EmbeddingName { get; }

    /// <summary>Name under which an untied (or a tied copy of the) LM head is stored.</summary>
    string HeadName => "lm_head.weight";

    /// <summary>
    /// The model's parameter name for a checkpoint key (identity unless the family has legacy spellings, e.g. GPT-2
    /// files without the <c>transformer.</c> prefix). <paramref name="expected"/> holds the model's own names.
    /// </summary>
    string MapCheckpointKey(string key, IReadOnlySet<string> expected) => key;

    /// <summary>
    /// True for a non-persistent buffer that older files carry and the loader skips with a note (e.g.
    /// <c>rotary_emb.inv_freq</c>, GPT-2's <c>attn.bias</c> / <c>attn.masked_bias</c>); <paramref name="name"/> is the
    /// mapped name.
    /// </summary>
    bool IsNonPersistentBuffer(string name);

    /// <summary>Longest sequence the model can position (learned position tables), or null when positions are
    /// unbounded (rotary embeddings).</summary>
    int? MaxSequenceLength(ModelConfig config);

    /// <summary>Names (last path component) of the family's linear layers, the modules an adapter may replace.</summary>
    IReadOnlyList<string> LinearModules { get; }

    /// <summary>Adapter (LoRA) targets when the user names none: PEFT's defaults, the query and value projections.</summary>
    IReadOnlyList<string> DefaultAdapterTargets { get; }

    /// <summary>True when linear weights are stored [in, out] (GPT-2's Conv1D; PEFT's <c>fan_in_fan_out</c>).</summary>
    bool LinearWeightsAreInOut => false;

    /// <summary>Weights of one decoder layer's matrix multiplications (the FLOP count per token is twice this).</summary>
    long LayerMatmulWeights(ModelConfig config);

    /// <summary>
    /// The <c>architectures</c> entry transformers writes for this family's sequence-classification model (a reward
    /// model): the causal architecture with its LM-head suffix (<c>LMHeadModel</c>, <c>ForCausalLM</c>) replaced by
    /// <c>ForSequenceClassification</c>, e.g. <c>GPT2ForSequenceClassification</c>, <c>LlamaForSequenceClassification</c>.
    /// </summary>
    string SequenceClassificationArchitecture(ModelConfig config)
    {
        var json = new JsonObject();
        WriteConfig(config, json);
        string causal = json["architectures"] is JsonArray { Count: > 0 } a && a[0] is JsonValue v
            && v.TryGetValue(out string? s) ? s : Name;
        foreach (var suffix in new[] { "LMHeadModel", "ForCausalLM" })
            if (causal.EndsWith(suffix, StringComparison.Ordinal)) return causal[..^suffix.Length] + "ForSequenceClassification";
        return causal + "ForSequenceClassification";
    }
}
