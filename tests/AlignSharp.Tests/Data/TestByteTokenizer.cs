using System.Text;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Data;

/// <summary>UTF-8 bytes as ids 0..255, BOS 256, EOS 257, PAD 258: a tokenizer whose output is known by hand.</summary>
internal sealed class TestByteTokenizer(bool withBos = true) : ITokenizer
{
    public const int Bos = 256, Eos = 257, Pad = 258;

    public int VocabSize => 259;
    public int? BosId => withBos ? Bos : null;
    public int? EosId => Eos;
    public int? PadId => Pad;

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        // Literal special-token text is matched as the token, as Hugging Face tokenizers do.
        var ids = new List<int>();
        int i = 0;
        while (i < text.Length)
        {
            if (text.AsSpan(i).StartsWith("<bos>")) { ids.Add(Bos); i += 5; continue; }
            if (text.AsSpan(i).StartsWith("<eos>")) { ids.Add(Eos); i += 5; continue; }
            int next = text.IndexOf('<', i + 1);
            if (next < 0) next = text.Length;
            ids.AddRange(Encoding.UTF8.GetBytes(text[i..next]).Select(b => (int)b));
            i = next;
        }
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id < 256) { bytes.Add((byte)id); continue; }
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
            if (!skipSpecialTokens) sb.Append(id == Bos ? "<bos>" : id == Eos ? "<eos>" : "<pad>");
        }
        return sb.Append(Encoding.UTF8.GetString(bytes.ToArray())).ToString();
    }
}
