namespace AlignSharp.Tokenization;

/// <summary>
/// Text to token ids and back, with Hugging Face semantics: <c>Encode(text, addSpecialTokens: true)</c>
/// applies the tokenizer's post-processor (e.g. Llama/Mistral prepend BOS); special tokens written
/// literally in the text are matched as tokens.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids (base vocabulary plus added tokens).</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, when the tokenizer has one.</summary>
    int? BosId { get; }

    /// <summary>End-of-sequence id, when the tokenizer has one.</summary>
    int? EosId { get; }

    /// <summary>Padding id, when the tokenizer has one (callers fall back to EOS or 0).</summary>
    int? PadId { get; }

    /// <summary>Encodes <paramref name="text"/>; with <paramref name="addSpecialTokens"/> the post-processor's tokens are added.</summary>
    IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false);

    /// <summary>Decodes ids; with <paramref name="skipSpecialTokens"/> special added tokens are dropped.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);
}
