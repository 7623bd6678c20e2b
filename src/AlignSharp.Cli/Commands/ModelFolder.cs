using AlignSharp.Checkpoints;
using AlignSharp.Runs;
using AlignSharp.Tokenization;

namespace AlignSharp.Cli.Commands;

/// <summary>A Hugging Face folder opened for inference: model, config and the folder's tokenizer, checked against each other.</summary>
internal sealed record ModelFolder(LoadedModel Loaded, ITokenizer Tokenizer) : IDisposable
{
    public static ModelFolder Open(string dir)
    {
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

    /// <summary>EOS ids from config.json and generation_config.json (one id or a list each) plus the tokenizer's EOS.</summary>
    public IReadOnlyList<int> EosIds => [.. Loaded.EosTokenIds.Concat(Tokenizer.EosId is int e ? [e] : []).Distinct()];

    public void Dispose() => Loaded.Model.Dispose();
}
