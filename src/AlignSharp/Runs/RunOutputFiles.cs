using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Tokenization;

namespace AlignSharp.Runs;

/// <summary>
/// What makes a saved model folder (<c>checkpoint-N/</c>, <c>final/</c>) usable on its own: the run's tokenizer files
/// (copied from its tokenizer folder, or the byte tokenizer written as <c>tokenizer.json</c>), with the chat template
/// they hold (or, when the run named one in <c>data.chat_template</c>, the template it used), and the resolved config as
/// <see cref="ConfigFile"/>.
/// </summary>
public static class RunOutputFiles
{
    /// <summary>The resolved run config written into every saved folder.</summary>
    public const string ConfigFile = "alignsharp_config.yaml";

    /// <summary>Writes the tokenizer files the folder lacks and the resolved config into the existing folder <paramref name="dir"/>.</summary>
    public static void WriteInto(string dir, RunConfig config)
    {
        string? source = RunTokenizer.Folder(RunTokenizer.SpecOf(config));
        if (source is null)
        {
            if (!File.Exists(Path.Combine(dir, "tokenizer.json"))) ByteTokenizerFiles.WriteInto(dir);
        }
        else if (Directory.Exists(source))
        {
            foreach (var f in HfCheckpoint.TokenizerFiles)
                if (File.Exists(Path.Combine(source, f)) && !File.Exists(Path.Combine(dir, f)))
                    File.Copy(Path.Combine(source, f), Path.Combine(dir, f));
        }
        if (RunChatTemplate.For(config).Source is { } template) WriteChatTemplate(dir, template);
        File.WriteAllText(Path.Combine(dir, ConfigFile),
            ConfigYaml.Write(config, "resolved config of the run that wrote this folder (alignsharp train)"));
    }

    /// <summary>
    /// Sets <c>chat_template</c> in the folder's tokenizer_config.json (made if missing) to the template the run rendered
    /// its data with, and removes a copied chat_template.jinja that would otherwise take precedence in transformers.
    /// </summary>
    private static void WriteChatTemplate(string dir, string template)
    {
        string path = Path.Combine(dir, "tokenizer_config.json");
        var config = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
        config["chat_template"] = template;
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Delete(Path.Combine(dir, "chat_template.jinja"));
    }
}
