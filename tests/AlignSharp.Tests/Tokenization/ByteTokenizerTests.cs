using AlignSharp.Tokenization;

namespace AlignSharp.Tests.Tokenization;

public sealed class ByteTokenizerTests
{
    private readonly ByteTokenizer _tok = new();

    [Theory]
    [InlineData("")]
    [InlineData("Hello, world!\n")]
    [InlineData("Größe café naïve")]
    [InlineData("日本語のテキスト 한국어 Русский عربى")]
    [InlineData("emoji 😃 👍🏽 🇯🇵 👨‍👩‍👧")]
    public void Round_trips_utf8(string text)
    {
        var ids = _tok.Encode(text);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), ids.Count);
        Assert.All(ids, id => Assert.InRange(id, 0, 255));
        Assert.Equal(text, _tok.Decode(ids));
    }

    [Fact]
    public void Special_tokens_are_added_once_and_can_be_skipped()
    {
        var ids = _tok.Encode("hi", addSpecialTokens: true);
        Assert.Equal([ByteTokenizer.Bos, 'h', 'i'], ids);
        Assert.Equal("<s>hi</s>", _tok.Decode([.. ids, ByteTokenizer.Eos]));
        Assert.Equal("hi", _tok.Decode([.. ids, ByteTokenizer.Eos, ByteTokenizer.Pad], skipSpecialTokens: true));
        // A literal "<s>" is text, so the helper cannot double BOS either.
        var once = _tok.AddSpecialTokensOnce("<s>x");
        Assert.Equal(1, once.Count(id => id == ByteTokenizer.Bos));
        Assert.Equal(259, _tok.VocabSize);
    }

    [Fact]
    public void Multibyte_character_split_by_a_skipped_special_token_still_decodes()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("é"); // C3 A9
        Assert.Equal("é", _tok.Decode([bytes[0], ByteTokenizer.Pad, bytes[1]], skipSpecialTokens: true));
    }

    [Fact]
    public void Invalid_utf8_and_bad_ids()
    {
        Assert.Equal("\uFFFD", _tok.Decode([0xFF]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.Decode([259]));
    }
}
