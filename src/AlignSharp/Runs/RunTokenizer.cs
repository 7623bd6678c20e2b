using AlignSharp.Config;
using AlignSharp.Tokenization;

namespace AlignSharp.Runs;

/// <summary>
/// The one tokenizer loader: every command and workflow names its tokenizer by a spec and loads it here. A spec is
/// <c>byte</c> (the built-in byte tokenizer), a model or tokenizer folder (<c>tokenizer.json</c>, else a
/// SentencePiece-only <c>tokenizer.model</c> with its <c>tokenizer_config.json</c>), or a <c>tokenizer.json</c> file.
/// </summary>
public static class RunTokenizer
{
    /// <summary>The spec of the built-in byte tokenizer.</summary>
    public const string Byte = "byte";

    /// <summary>A run's tokenizer spec: <c>tokenizer</c>, else the model folder, else the byte tokenizer.</summary>
    public static string SpecOf(RunConfig config) => config.Tokenizer ?? config.Model.Path ?? Byte;

    /// <summary>Loads the tokenizer <paramref name="spec"/> names (null means <see cref="Byte"/>).</summary>
    /// <exception cref="TokenizerException">The folder or file holds no loadable tokenizer.</exception>
    public static ITokenizer Load(string? spec)
    {
        if (spec is null or Byte) return new ByteTokenizer();
        if (Directory.Exists(spec)) return AutoTokenizer.FromFolder(spec);
        if (File.Exists(spec)) return HfTokenizer.FromFile(spec);
        throw new TokenizerException($"{spec}: tokenizer not found (a model folder, a tokenizer.json, or '{Byte}')");
    }

    /// <summary>The folder holding the spec's tokenizer files (copied into saved models), or null for the byte tokenizer.</summary>
    public static string? Folder(string? spec) =>
        spec is null or Byte ? null : Directory.Exists(spec) ? spec : Path.GetDirectoryName(Path.GetFullPath(spec));
}
