using System.Security.Cryptography;

namespace AlignSharp.Tests.Tokenization;

/// <summary>Every case of shared/golden/tokenizers/cases.json for all four tokenizers, reproduced exactly (ordinal comparison).</summary>
public sealed class GoldenTokenizerTests(GoldenTokenizerFixture fixture) : IClassFixture<GoldenTokenizerFixture>
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var t in GoldenTokenizerFixture.All)
            foreach (var c in t.Cases) data.Add(t.Name, c.Name);
        return data;
    }

    public static TheoryData<string> Tokenizers()
    {
        var data = new TheoryData<string>();
        foreach (var t in GoldenTokenizerFixture.All) data.Add(t.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Fixture_files_match_their_recorded_sha256(string tokenizer)
    {
        var golden = GoldenTokenizerFixture.Get(tokenizer);
        foreach (var (file, sha) in golden.Sha256)
        {
            var actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(GoldenTokenizerFixture.GoldenDir, tokenizer, file))));
            Assert.Equal(sha, actual);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encode_matches_hugging_face(string tokenizer, string caseName)
    {
        var c = GoldenTokenizerFixture.Get(tokenizer).Cases.Single(x => x.Name == caseName);
        var tok = fixture.Tokenizer(tokenizer);
        var ids = tok.Encode(c.Text);
        Assert.Equal(c.Ids, ids);
        Assert.Equal(c.Tokens, ids.Select(id => tok.IdToToken(id)).ToArray());
        Assert.Equal(c.IdsWithSpecialTokens, tok.Encode(c.Text, addSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decode_matches_hugging_face(string tokenizer, string caseName)
    {
        var c = GoldenTokenizerFixture.Get(tokenizer).Cases.Single(x => x.Name == caseName);
        var tok = fixture.Tokenizer(tokenizer);
        Assert.Equal(c.Decoded, tok.Decode(c.Ids));
        Assert.Equal(c.DecodedWithSpecialTokens, tok.Decode(c.IdsWithSpecialTokens));
        Assert.Equal(c.DecodedSkipSpecialTokens, tok.Decode(c.IdsWithSpecialTokens, skipSpecialTokens: true));
    }
}
