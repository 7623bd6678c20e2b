namespace AlignSharp.Tokenization;

/// <summary>Loads whichever tokenizer a Hugging Face model folder carries.</summary>
public static class AutoTokenizer
{
    /// <summary>
    /// <c>tokenizer.json</c> when present (<see cref="HfTokenizer"/>), else a SentencePiece <c>tokenizer.model</c>
    /// (<see cref="SentencePieceModelTokenizer"/>).
    /// </summary>
    /// <exception cref="TokenizerException">The folder has neither file, or the file cannot be loaded.</exception>
    public static ITokenizer FromFolder(string directory)
    {
        if (File.Exists(Path.Combine(directory, "tokenizer.json"))) return HfTokenizer.FromFolder(directory);
        string model = Path.Combine(directory, "tokenizer.model");
        string config = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(model)) return SentencePieceModelTokenizer.FromFile(model, File.Exists(config) ? config : null);
        throw new TokenizerException($"{directory}: no tokenizer.json or tokenizer.model in the folder");
    }
}
