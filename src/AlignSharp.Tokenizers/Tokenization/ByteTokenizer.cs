using System.Text;

namespace AlignSharp.Tokenization;

/// <summary>
/// A vocabulary-free tokenizer for demo models: ids 0-255 are the UTF-8 bytes of the text, then BOS (256),
/// EOS (257) and PAD (258). <c>Encode(text, addSpecialTokens: true)</c> prepends BOS. Decoding turns invalid
/// UTF-8 into U+FFFD; special ids decode to <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c> unless skipped.
/// Special tokens cannot be written in the text: "&lt;s&gt;" encodes as its three bytes.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    /// <summary>Id of the beginning-of-sequence token.</summary>
    public const int Bos = 256;

    /// <summary>Id of the end-of-sequence token.</summary>
    public const int Eos = 257;

    /// <summary>Id of the padding token.</summary>
    public const int Pad = 258;

    /// <inheritdoc/>
    public int VocabSize => 259;

    /// <inheritdoc/>
    public int? BosId => Bos;

    /// <inheritdoc/>
    public int? EosId => Eos;

    /// <inheritdoc/>
    public int? PadId => Pad;

    /// <inheritdoc/>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new List<int>(bytes.Length + 1);
        if (addSpecialTokens) ids.Add(Bos);
        foreach (byte b in bytes) ids.Add(b);
        return ids;
    }

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        var pending = new List<byte>();
        foreach (int id in ids)
        {
            if (id is >= 0 and < 256)
            {
                pending.Add((byte)id);
                continue;
            }
            string special = id switch
            {
                Bos => "<s>",
                Eos => "</s>",
                Pad => "<pad>",
                _ => throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is outside the byte tokenizer's 259 ids"),
            };
            if (skipSpecialTokens) continue;
            sb.Append(Encoding.UTF8.GetString(pending.ToArray()));
            pending.Clear();
            sb.Append(special);
        }
        sb.Append(Encoding.UTF8.GetString(pending.ToArray()));
        return sb.ToString();
    }
}
