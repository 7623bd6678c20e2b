using AlignSharp.Checkpoints;
using AlignSharp.Runs;
using AlignSharp.Tokenization;

namespace AlignSharp.Cli.Commands;

/// <summary>A Hugging Face folder opened for inference: model, config and the folder's tokenizer, checked against each other.</summary>
internal sealed record ModelFolder(LoadedModel Loaded, ITokenizer Tokenizer) : IDisposable
{
    public static ModelFolder Open(string dir)
    {
        AdapterOnly(dir);
        var loaded = HfCheckpoint.Load(dir);
        foreach (var note in loaded.Notes) Console.Error.WriteLine($"note: {note}");
        try
        {
            var tokenizer = RunTokenizer.Load(dir);
            if (tokenizer.VocabSize > loaded.Config.VocabSize)
                throw new CheckpointException($"{dir}: tokenizer has {tokenizer.VocabSize} ids but config.json has vocab_size {loaded.Config.VocabSize}");
            return new ModelFolder(loaded, tokenizer);
        }
        catch
        {
            loaded.Model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A LoRA run's final/ (or checkpoint) holds the adapter, not a model: say so with the command that makes a model of
    /// it, rather than "config.json not found".
    /// </summary>
    private static void AdapterOnly(string dir)
    {
        string adapterConfig = Path.Combine(dir, "adapter_config.json");
        if (File.Exists(Path.Combine(dir, "config.json")) || !File.Exists(adapterConfig)) return;
        string? baseModel = null;
        try
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(adapterConfig));
            baseModel = (string?)json?["base_model_name_or_path"];
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { }
        throw new AlignSharpException($"{dir}: a LoRA adapter (adapter_config.json), not a model; fold it into its base " +
            $"first: alignsharp adapters merge --base {baseModel ?? "BASE_DIR"} --adapter {dir} --out MERGED_DIR");
    }

    /// <summary>EOS ids from config.json and generation_config.json (one id or a list each) plus the tokenizer's EOS.</summary>
    public IReadOnlyList<int> EosIds => [.. Loaded.EosTokenIds.Concat(Tokenizer.EosId is int e ? [e] : []).Distinct()];

    public void Dispose() => Loaded.Model.Dispose();
}
