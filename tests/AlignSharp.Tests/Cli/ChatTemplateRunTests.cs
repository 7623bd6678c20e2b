using System.Text.Json.Nodes;
using AlignSharp.Cli.Commands;
using AlignSharp.Data.Chat;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// Conversational data and chat templates through a whole run: without a template the run stops before training and
/// says how to give one (no silent fallback); the template a run used is saved into every checkpoint-N/ and final/,
/// so <c>generate --chat</c> on them renders prompts exactly as training rendered its data.
/// </summary>
[Collection("Console")]
public sealed class ChatTemplateRunTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    private static ChatMessage[] Conversation(string? system, string user) =>
        system is null ? [new("user", user)] : [new("system", system), new("user", user)];

    /// <summary>Six conversational pairs and a byte-tokenizer config training on them.</summary>
    private static (string Config, string Data, string Output) Setup()
    {
        string dir = TestTemp.Dir("chatrun");
        string data = Path.Combine(dir, "chat.jsonl");
        static JsonArray Turn(string role, string content) => [new JsonObject { ["role"] = role, ["content"] = content }];
        File.WriteAllLines(data, Enumerable.Range(0, 6).Select(i => new JsonObject
        {
            ["prompt"] = Turn("user", $"rate film {i}"),
            ["chosen"] = Turn("assistant", $"good {i}"),
            ["rejected"] = Turn("assistant", $"bad {i}"),
        }.ToJsonString()));
        string output = Path.Combine(dir, "out");
        string config = Path.Combine(dir, "run.yaml");
        File.WriteAllText(config, $"""
            model: {"{"}hidden_size: 16, num_layers: 1, num_heads: 2, max_positions: 96{"}"}
            tokenizer: byte
            data:
              train: {data}
              max_length: 64
            training:
              batch_size: 3
              max_steps: 2
              save_steps: 1
              eval_steps: 0
              threads: 1
            output_dir: {output}
            """);
        return (config, data, output);
    }

    [Fact]
    public void The_plain_templates_jinja_source_renders_exactly_as_the_plain_formatter()
    {
        var jinja = ChatTemplate.Parse(PlainChatFormatter.Jinja);
        var plain = new PlainChatFormatter();
        ChatMessage[][] conversations =
        [
            [new("user", "Hi")],
            [new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello!"), new("user", "{{ not jinja }}")],
            [new("user", "two\nlines and 'quotes' \"both\""), new("assistant", "")],
        ];
        foreach (var messages in conversations)
            foreach (bool generation in new[] { false, true })
            {
                var array = new JsonArray(messages.Select(m =>
                    (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
                Assert.Equal(plain.Render(messages, generation),
                    jinja.Render(new ChatTemplateInput(array) { AddGenerationPrompt = generation }));
            }
    }

    [Fact]
    public void Conversational_data_on_a_tokenizer_without_a_template_stops_before_training_naming_the_fix()
    {
        var (config, data, output) = Setup();
        foreach (var command in new[] { "validate", "train" })
        {
            var (code, _, err) = Run(command, "--config", config);
            Assert.Equal(1, code);
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, err);
            Assert.Equal($"error: {data}:1: conversational records need a chat template and tokenizer 'byte' has " +
                "none: set data.chat_template to a template (a .jinja file, or a tokenizer_config.json or folder " +
                "holding one), or to 'plain' for the built-in <|role|> template", lines[0].TrimEnd());
        }
        Assert.False(Directory.Exists(Path.Combine(output, "checkpoint-1")));
        Assert.False(File.Exists(Path.Combine(output, "metrics.jsonl")));

        // data inspect says the same, with its own option.
        var inspect = Run("data", "inspect", "--data", data);
        Assert.Equal(1, inspect.Code);
        Assert.Contains("pass --chat-template FILE", inspect.Err);
        var plain = Run("data", "inspect", "--data", data, "--chat-template", "plain");
        Assert.True(plain.Code == 0, plain.Err);
        Assert.Contains("chat template: plain-v1", plain.Out);
    }

    [Fact]
    public void A_run_on_the_plain_template_saves_it_and_generate_chat_renders_prompts_as_training_did()
    {
        var (config, data, output) = Setup();
        var (code, _, err) = Run("train", "--config", config, "--set", "data.chat_template=plain");
        Assert.True(code == 0, err);
        foreach (var saved in new[] { "checkpoint-2", "final" })
        {
            string dir = Path.Combine(output, saved);
            var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!;
            Assert.Equal(PlainChatFormatter.Jinja, (string?)tokenizerConfig["chat_template"]);
            // What generate --chat feeds the model is what training rendered as the prompt of its data.
            foreach (var system in new[] { null, "Be brief." })
                Assert.Equal(new PlainChatFormatter().Render(Conversation(system, "rate film 9"), addGenerationPrompt: true),
                    GenerateCommand.RenderChat(dir, system, "rate film 9"));
            (code, _, err) = Run("generate", "--model", dir, "--chat", "--prompt", "rate film 9", "--max-new-tokens", "3");
            Assert.True(code == 0, $"generate --chat on {saved}: {err}");
            (code, _, err) = Run("generate", "--model", dir, "--chat", "--system", "Be brief.", "--prompt", "hi",
                "--max-new-tokens", "3");
            Assert.True(code == 0, $"generate --chat --system on {saved}: {err}");
        }
        // eval takes the conversational pairs with the policy folder's saved template.
        (code, var stdout, err) = Run("eval", "--policy", Path.Combine(output, "final"), "--reference",
            Path.Combine(output, "checkpoint-1"), "--pairs", data, "--json");
        Assert.True(code == 0, err);
        Assert.Equal(6, (int)JsonNode.Parse(stdout)!["implicit_reward"]!["pairs"]!);
    }

    [Fact]
    public void A_template_file_is_rendered_and_saved_and_a_missing_one_is_one_line()
    {
        var (config, _, output) = Setup();
        string jinja = Path.Combine(Path.GetDirectoryName(config)!, "chatml.jinja");
        const string chatml = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + " +
            "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        File.WriteAllText(jinja, chatml);
        var (code, _, err) = Run("train", "--config", config, "--set", $"data.chat_template={jinja}",
            "--set", "training.max_steps=1");
        Assert.True(code == 0, err);
        string final = Path.Combine(output, "final");
        Assert.Equal(chatml, (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(final, "tokenizer_config.json")))![
            "chat_template"]);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", GenerateCommand.RenderChat(final, null, "hi"));

        string missing = Path.Combine(Path.GetDirectoryName(config)!, "nope.jinja");
        var bad = Run("validate", "--config", config, "--set", $"data.chat_template={missing}");
        Assert.Equal(1, bad.Code);
        Assert.Equal($"error: --set data.chat_template={missing}: 'data.chat_template': {missing} not found ('plain', " +
            "a .jinja file, or a tokenizer_config.json or folder holding a template)", bad.Err.Trim());
    }
}
