using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Models;

namespace AlignSharp.Checkpoints;

/// <summary>
/// Maps Hugging Face <c>config.json</c> to <see cref="ModelConfig"/> and back, with HF's defaults per model_type:
/// gpt2 (n_inner null = 4 * n_embd, tied head), llama / mistral / qwen2 (head_dim null = hidden / heads,
/// num_key_value_heads = heads, rope_theta 10000, untied head, llama3 rope_scaling under <c>rope_type</c> or <c>type</c>).
/// </summary>
public static class HfConfig
{
    /// <summary>The model_type values this library loads.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["gpt2", "llama", "mistral", "qwen2"];

    /// <summary>Reads and maps <paramref name="path"/>; errors name the file and key.</summary>
    public static ModelConfig Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: config.json not found");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new CheckpointException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        if (node is not JsonObject obj) throw new CheckpointException($"{path}: not a JSON object");
        return Parse(obj, path);
    }

    /// <summary>Maps a parsed config; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(JsonObject json, string source)
    {
        var r = new Reader(json, source);
        string type = r.String("model_type") ?? throw new CheckpointException($"{source}: missing 'model_type'");
        return type switch
        {
            "gpt2" => ParseGpt2(r),
            "llama" or "mistral" or "qwen2" => ParseLlama(r, type),
            _ => throw new CheckpointException($"{source}: unsupported model_type '{type}' (supported: {string.Join(", ", SupportedModelTypes)})"),
        };
    }

    private static ModelConfig ParseGpt2(Reader r)
    {
        int hidden = r.Int("n_embd") ?? 768;
        int heads = r.Int("n_head") ?? 12;
        string act = r.String("activation_function") ?? "gelu_new";
        if (act is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw r.Error("activation_function", $"'{act}' is not supported (GPT-2 here uses gelu_new)");
        if (r.Bool("scale_attn_by_inverse_layer_idx") == true) throw r.Error("scale_attn_by_inverse_layer_idx", "true is not supported");
        if (r.Bool("scale_attn_weights") == false) throw r.Error("scale_attn_weights", "false is not supported");
        if (r.Bool("tie_word_embeddings") == false) throw r.Error("tie_word_embeddings", "an untied GPT-2 head is not supported");
        if (hidden % heads != 0) throw r.Error("n_head", $"n_embd {hidden} is not divisible by n_head {heads}");
        return new ModelConfig
        {
            Family = ModelFamily.Gpt2,
            ModelType = "gpt2",
            VocabSize = r.Int("vocab_size") ?? 50257,
            HiddenSize = hidden,
            NumLayers = r.Int("n_layer") ?? 12,
            NumHeads = heads,
            NumKeyValueHeads = heads,
            HeadDim = hidden / heads,
            IntermediateSize = r.Int("n_inner") ?? 4 * hidden,
            MaxPositions = r.Int("n_positions") ?? 1024,
            NormEps = r.Double("layer_norm_epsilon") ?? 1e-5,
            TieWordEmbeddings = true,
            BosTokenId = r.Int("bos_token_id"),
            EosTokenIds = r.IntList("eos_token_id"),
            PadTokenId = r.Int("pad_token_id"),
        };
    }

    private static ModelConfig ParseLlama(Reader r, string type)
    {
        int hidden = r.Int("hidden_size") ?? throw r.Error("hidden_size", "missing");
        int heads = r.Int("num_attention_heads") ?? throw r.Error("num_attention_heads", "missing");
        int kv = r.Int("num_key_value_heads") ?? heads;
        string act = r.String("hidden_act") ?? "silu";
        if (act != "silu") throw r.Error("hidden_act", $"'{act}' is not supported (expected silu)");
        if (heads % kv != 0) throw r.Error("num_key_value_heads", $"{kv} does not divide num_attention_heads {heads}");
        int? headDim = r.Int("head_dim");
        if (headDim is null && hidden % heads != 0) throw r.Error("num_attention_heads", $"hidden_size {hidden} is not divisible by {heads}");
        bool attentionBias = type == "llama" && r.Bool("attention_bias") == true;
        int? window = type switch
        {
            "mistral" => r.Int("sliding_window"),
            "qwen2" when r.Bool("use_sliding_window") == true => throw r.Error("use_sliding_window", "Qwen2 per-layer sliding windows are not supported"),
            _ => null,
        };
        return new ModelConfig
        {
            Family = ModelFamily.Llama,
            ModelType = type,
            VocabSize = r.Int("vocab_size") ?? throw r.Error("vocab_size", "missing"),
            HiddenSize = hidden,
            NumLayers = r.Int("num_hidden_layers") ?? throw r.Error("num_hidden_layers", "missing"),
            NumHeads = heads,
            NumKeyValueHeads = kv,
            HeadDim = headDim ?? hidden / heads,
            IntermediateSize = r.Int("intermediate_size") ?? throw r.Error("intermediate_size", "missing"),
            MaxPositions = r.Int("max_position_embeddings") ?? 2048,
            NormEps = r.Double("rms_norm_eps") ?? 1e-6,
            TieWordEmbeddings = r.Bool("tie_word_embeddings") ?? false,
            RopeTheta = r.Double("rope_theta") ?? 10000,
            RopeScaling = ParseRopeScaling(r),
            QkvBias = type == "qwen2" || attentionBias,
            OutputBias = attentionBias,
            MlpBias = type == "llama" && r.Bool("mlp_bias") == true,
            BosTokenId = r.Int("bos_token_id"),
            EosTokenIds = r.IntList("eos_token_id"),
            PadTokenId = r.Int("pad_token_id"),
            SlidingWindow = window,
        };
    }

    private static RopeScaling? ParseRopeScaling(Reader r)
    {
        var node = r.Node("rope_scaling");
        if (node is null) return null;
        if (node is not JsonObject s) throw r.Error("rope_scaling", "must be an object or null");
        var sr = new Reader(s, $"{r.Source} (rope_scaling)");
        string kind = sr.String("rope_type") ?? sr.String("type") ?? throw r.Error("rope_scaling", "has neither 'rope_type' nor 'type'");
        if (kind == "default") return null;
        if (kind != "llama3") throw r.Error("rope_scaling", $"type '{kind}' is not supported (supported: llama3)");
        return new RopeScaling(
            "llama3",
            sr.Double("factor") ?? throw sr.Error("factor", "missing"),
            sr.Double("low_freq_factor") ?? throw sr.Error("low_freq_factor", "missing"),
            sr.Double("high_freq_factor") ?? throw sr.Error("high_freq_factor", "missing"),
            sr.Int("original_max_position_embeddings") ?? throw sr.Error("original_max_position_embeddings", "missing"));
    }

    /// <summary>
    /// The HF config.json for <paramref name="cfg"/>. Keys of <paramref name="baseConfig"/> (e.g. the source folder's config)
    /// are kept unless this library sets them, so extra fields survive a load/save cycle.
    /// </summary>
    public static JsonObject ToJson(ModelConfig cfg, string torchDtype = "float32", JsonObject? baseConfig = null)
    {
        var o = baseConfig is null ? new JsonObject() : (JsonObject)baseConfig.DeepClone();
        void Set(string key, JsonNode? value) => o[key] = value;
        Set("model_type", cfg.ModelType);
        Set("vocab_size", cfg.VocabSize);
        Set("torch_dtype", torchDtype);
        Set("tie_word_embeddings", cfg.TieWordEmbeddings);
        Set("bos_token_id", cfg.BosTokenId);
        Set("eos_token_id", cfg.EosTokenIds.Count == 1 ? JsonValue.Create(cfg.EosTokenIds[0]) : cfg.EosTokenIds.Count == 0 ? null : new JsonArray([.. cfg.EosTokenIds.Select(i => (JsonNode?)JsonValue.Create(i))]));
        if (cfg.PadTokenId is not null || o.ContainsKey("pad_token_id")) Set("pad_token_id", cfg.PadTokenId);
        if (cfg.Family == ModelFamily.Gpt2)
        {
            Set("architectures", new JsonArray("GPT2LMHeadModel"));
            Set("n_embd", cfg.HiddenSize);
            Set("n_layer", cfg.NumLayers);
            Set("n_head", cfg.NumHeads);
            Set("n_inner", cfg.IntermediateSize == 4 * cfg.HiddenSize ? null : cfg.IntermediateSize);
            Set("n_positions", cfg.MaxPositions);
            Set("n_ctx", cfg.MaxPositions);
            Set("layer_norm_epsilon", cfg.NormEps);
            Set("activation_function", "gelu_new");
            Set("scale_attn_weights", true);
            Set("scale_attn_by_inverse_layer_idx", false);
            return o;
        }
        Set("architectures", new JsonArray(cfg.ModelType switch { "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", _ => "LlamaForCausalLM" }));
        Set("hidden_size", cfg.HiddenSize);
        Set("num_hidden_layers", cfg.NumLayers);
        Set("num_attention_heads", cfg.NumHeads);
        Set("num_key_value_heads", cfg.NumKeyValueHeads);
        Set("head_dim", cfg.HeadDim);
        Set("intermediate_size", cfg.IntermediateSize);
        Set("max_position_embeddings", cfg.MaxPositions);
        Set("rms_norm_eps", cfg.NormEps);
        Set("rope_theta", cfg.RopeTheta);
        Set("hidden_act", "silu");
        Set("rope_scaling", cfg.RopeScaling is { } s
            ? new JsonObject
            {
                ["rope_type"] = s.Type, ["factor"] = s.Factor, ["low_freq_factor"] = s.LowFreqFactor,
                ["high_freq_factor"] = s.HighFreqFactor, ["original_max_position_embeddings"] = s.OriginalMaxPositions,
            }
            : null);
        if (cfg.ModelType == "llama")
        {
            Set("attention_bias", cfg.QkvBias);
            Set("mlp_bias", cfg.MlpBias);
        }
        if (cfg.ModelType == "mistral") Set("sliding_window", cfg.SlidingWindow);
        if (cfg.ModelType == "qwen2") Set("use_sliding_window", false);
        return o;
    }

    /// <summary>Typed, error-naming access to config keys; an explicit JSON null counts as absent.</summary>
    private sealed class Reader(JsonObject json, string source)
    {
        public string Source => source;

        public JsonNode? Node(string key) => json.TryGetPropertyValue(key, out var n) ? n : null;

        public CheckpointException Error(string key, string problem) => new($"{source}: '{key}' {problem}");

        public string? String(string key) => Node(key) switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => throw Error(key, "must be a string"),
        };

        public int? Int(string key) => Node(key) switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out int i) => i,
            JsonValue v when v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue => (int)d,
            _ => throw Error(key, "must be an integer"),
        };

        public double? Double(string key) => Node(key) switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out double d) => d,
            _ => throw Error(key, "must be a number"),
        };

        public bool? Bool(string key) => Node(key) switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out bool b) => b,
            _ => throw Error(key, "must be true or false"),
        };

        public IReadOnlyList<int> IntList(string key) => Node(key) switch
        {
            null => [],
            JsonArray a => a.Select((n, i) => n is JsonValue v && v.TryGetValue(out int x) ? x : throw Error(key, $"entry {i} must be an integer")).ToArray(),
            _ => Int(key) is int one ? [one] : [],
        };
    }
}
