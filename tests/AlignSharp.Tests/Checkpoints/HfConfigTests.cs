using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Models;
using AlignSharp.Models.Families;

namespace AlignSharp.Tests.Checkpoints;

public sealed class HfConfigTests
{
    private static ModelConfig Parse(string json) => HfConfig.Parse(JsonNode.Parse(json)!.AsObject(), "config.json");

    private const string Llama = "\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"intermediate_size\": 128, \"vocab_size\": 100";

    [Fact]
    public void Llama_defaults_follow_hf()
    {
        var c = Parse($"{{\"model_type\": \"llama\", {Llama}, \"head_dim\": null, \"eos_token_id\": 2}}");
        Assert.Same(LlamaFamily.Instance, c.Family);
        Assert.Equal(8, c.NumKeyValueHeads); // = num_attention_heads
        Assert.Equal(8, c.HeadDim); // hidden / heads
        Assert.Equal(10000, c.RopeTheta);
        Assert.False(c.TieWordEmbeddings);
        Assert.Null(c.RopeScaling);
        Assert.Equal([2], c.EosTokenIds);
        Assert.False(c.QkvBias || c.OutputBias || c.MlpBias);
    }

    [Fact]
    public void Llama_attention_and_mlp_bias_switch_on_every_projection_bias()
    {
        var c = Parse($"{{\"model_type\": \"llama\", {Llama}, \"attention_bias\": true, \"mlp_bias\": true}}");
        Assert.True(c.QkvBias && c.OutputBias && c.MlpBias);
        using var model = ModelFactory.Create(c);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var proj in new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" })
            Assert.Contains($"model.layers.1.{proj}.bias", names);
    }

    [Fact]
    public void Qwen2_has_qkv_biases_only_and_mistral_keeps_its_window()
    {
        var q = Parse($"{{\"model_type\": \"qwen2\", {Llama}, \"tie_word_embeddings\": true}}");
        Assert.True(q.QkvBias);
        Assert.False(q.OutputBias);
        Assert.True(q.TieWordEmbeddings);
        var m = Parse($"{{\"model_type\": \"mistral\", {Llama}, \"num_key_value_heads\": 2, \"sliding_window\": 4096, \"eos_token_id\": [2, 7]}}");
        Assert.Equal(4096, m.SlidingWindow);
        Assert.Equal(2, m.NumKeyValueHeads);
        Assert.Equal([2, 7], m.EosTokenIds);
    }

    [Theory]
    [InlineData("rope_type")]
    [InlineData("type")]
    public void Llama3_rope_scaling_is_read_under_either_key(string key)
    {
        var c = Parse($"{{\"model_type\": \"llama\", {Llama}, \"rope_scaling\": {{\"{key}\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}}}");
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), c.RopeScaling);
    }

    [Fact]
    public void Gpt2_defaults_follow_hf()
    {
        var c = Parse("{\"model_type\": \"gpt2\", \"n_embd\": 48, \"n_head\": 6, \"n_layer\": 3, \"n_positions\": 32, \"vocab_size\": 50, \"n_inner\": null}");
        Assert.Same(Gpt2Family.Instance, c.Family);
        Assert.Equal(4 * 48, c.IntermediateSize);
        Assert.Equal(8, c.HeadDim);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(1e-5, c.NormEps);
    }

    [Theory]
    [InlineData("{\"model_type\": \"llama\", HIDDEN, \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0}}", "'rope_scaling' type 'yarn' is not supported")]
    [InlineData("{\"model_type\": \"llama\", HIDDEN, \"hidden_act\": \"gelu\"}", "'hidden_act' 'gelu'")]
    [InlineData("{\"model_type\": \"llama\", HIDDEN, \"num_key_value_heads\": 3}", "'num_key_value_heads' 3")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 64}", "'num_attention_heads' missing")]
    [InlineData("{\"model_type\": \"gpt2\", \"activation_function\": \"relu\"}", "'activation_function' 'relu'")]
    [InlineData("{\"model_type\": \"mamba\"}", "unsupported model_type 'mamba'")]
    [InlineData("{\"vocab_size\": 3}", "missing 'model_type'")]
    [InlineData("{\"model_type\": \"llama\", HIDDEN, \"rms_norm_eps\": \"small\"}", "'rms_norm_eps' must be a number")]
    public void Bad_configs_are_errors_naming_the_key(string json, string expected)
    {
        var e = Assert.Throws<CheckpointException>(() => Parse(json.Replace("HIDDEN", Llama)));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("config.json", e.Message);
    }
}
