using Google.Protobuf;
using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Tokenization;

/// <summary>
/// Llama 2-style SentencePiece <c>tokenizer.model</c> loading. There is no golden fixture for it, so a tiny model is
/// written here (protobuf fields of sentencepiece_model.proto) and only verifiable behaviour is tested: ASCII round
/// trip, byte fallback round trip, BOS added once, and load errors.
/// </summary>
public sealed class SentencePieceModelTokenizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("alignsharp-spm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Merged = ["▁t", "he", "▁the", "ll", "llo", "▁he", "▁hello", "▁w", "or", "ld", "▁wor", "▁world"];

    /// <summary>Writes a SentencePiece BPE model: &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, 256 byte pieces, characters, then merged pieces by score.</summary>
    private string WriteTinyModel()
    {
        var pieces = new List<(string Piece, float Score, int Type)> { ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3) };
        for (int b = 0; b < 256; b++) pieces.Add(($"<0x{b:X2}>", 0, 6));
        for (int i = 0; i < Merged.Length; i++) pieces.Add((Merged[i], -1 - i, 1));
        string chars = "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'";
        for (int i = 0; i < chars.Length; i++) pieces.Add((chars[i].ToString(), -100 - i, 1));

        using var model = new MemoryStream();
        var output = new CodedOutputStream(model);
        foreach (var (piece, score, type) in pieces)
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(Message(o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(piece);
                o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(score);
                o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(type);
            }));
        }
        output.WriteTag(2, WireFormat.WireType.LengthDelimited); // trainer_spec
        output.WriteBytes(Message(o =>
        {
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(2); // model_type = BPE
            o.WriteTag(35, WireFormat.WireType.Varint); o.WriteBool(true); // byte_fallback
            o.WriteTag(40, WireFormat.WireType.Varint); o.WriteInt32(0); // unk_id
            o.WriteTag(41, WireFormat.WireType.Varint); o.WriteInt32(1); // bos_id
            o.WriteTag(42, WireFormat.WireType.Varint); o.WriteInt32(2); // eos_id
            o.WriteTag(43, WireFormat.WireType.Varint); o.WriteInt32(-1); // pad_id
        }));
        output.WriteTag(3, WireFormat.WireType.LengthDelimited); // normalizer_spec
        output.WriteBytes(Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("identity");
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteBool(true); // add_dummy_prefix
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteBool(false); // remove_extra_whitespaces
            o.WriteTag(5, WireFormat.WireType.Varint); o.WriteBool(true); // escape_whitespaces
        }));
        output.Flush();
        string path = Path.Combine(_dir, "tokenizer.model");
        File.WriteAllBytes(path, model.ToArray());
        return path;
    }

    private static ByteString Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var o = new CodedOutputStream(ms);
        write(o);
        o.Flush();
        return ByteString.CopyFrom(ms.ToArray());
    }

    [Fact]
    public void Ascii_text_round_trips_and_merges_by_score()
    {
        WriteTinyModel();
        var tok = Assert.IsType<SentencePieceModelTokenizer>(AutoTokenizer.FromFolder(_dir));
        int world = 259 + Array.IndexOf(Merged, "▁world");
        int hello = 259 + Array.IndexOf(Merged, "▁hello");
        Assert.Equal([hello, world], tok.Encode("hello world"));
        foreach (var text in new[] { "hello world", "The quick brown fox, 42 times!", "it's x" })
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        Assert.Null(tok.PadId);
    }

    [Fact]
    public void Characters_outside_the_vocabulary_fall_back_to_bytes()
    {
        WriteTinyModel();
        var tok = AutoTokenizer.FromFolder(_dir);
        var ids = tok.Encode("é");
        Assert.Contains(3 + 0xC3, ids);
        Assert.Contains(3 + 0xA9, ids);
        Assert.Equal("é", tok.Decode(ids));
    }

    [Fact]
    public void Bos_is_added_once()
    {
        WriteTinyModel();
        var tok = AutoTokenizer.FromFolder(_dir);
        var ids = tok.Encode("hello", addSpecialTokens: true);
        Assert.Equal(1, ids[0]);
        Assert.Equal(1, ids.Count(id => id == 1));
        Assert.Equal(ids, tok.AddSpecialTokensOnce("hello"));
        var once = tok.AddSpecialTokensOnce("<s>hello");
        Assert.Equal(1, once.Count(id => id == 1));
        Assert.Equal("hello", tok.Decode(once, skipSpecialTokens: true).TrimStart());
    }

    [Fact]
    public void Folder_without_tokenizer_files_is_named()
    {
        var e = Assert.Throws<TokenizerException>(() => AutoTokenizer.FromFolder(_dir));
        Assert.Equal($"{_dir}: no tokenizer.json or tokenizer.model in the folder", e.Message);
    }

    [Fact]
    public void Corrupt_model_file_is_a_tokenizer_exception()
    {
        string path = Path.Combine(_dir, "tokenizer.model");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var e = Assert.Throws<TokenizerException>(() => SentencePieceModelTokenizer.FromFile(path));
        Assert.StartsWith($"{path}: not a SentencePiece BPE model", e.Message);
    }
}
