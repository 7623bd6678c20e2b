using AlignSharp.Data;
using AlignSharp.Data.Formats;

namespace AlignSharp.Tests.Data;

public sealed class CacheTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cache => Path.Combine(_dir.Path, "cache");

    [Fact]
    public void Second_load_is_a_cache_hit_with_identical_pairs_and_report()
    {
        var path = _dir.File("d.jsonl",
            """
            {"prompt": "p é", "chosen": "c1", "rejected": "r1", "chosen_score": 2.5}
            {"prompt": "p", "chosen": "same", "rejected": "same"}
            {"prompt": "p", "chosen": "a long chosen answer", "rejected": "r"}
            """);
        var tok = new TestByteTokenizer();
        var options = new TokenizationOptions(MaxLength: 12);
        var first = TokenizedData.Load(path, tok, options, cacheDirectory: Cache);
        var second = TokenizedData.Load(path, tok, options, cacheDirectory: Cache);
        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Single(Directory.GetFiles(Cache)); // no temporary file left behind
        Assert.Equal(first.Pairs.Count, second.Pairs.Count);
        for (int i = 0; i < first.Pairs.Count; i++)
        {
            var (a, b) = (first.Pairs[i], second.Pairs[i]);
            Assert.Equal(a.Prompt, b.Prompt);
            Assert.Equal(a.Chosen, b.Chosen);
            Assert.Equal(a.Rejected, b.Rejected);
            Assert.Equal(a.Example.Source, b.Example.Source);
            Assert.Equal((a.Example.Prompt, a.Example.Chosen, a.Example.Rejected), (b.Example.Prompt, b.Example.Chosen, b.Example.Rejected));
            Assert.Equal(a.Example.Extras, b.Example.Extras);
            Assert.Equal((a.PromptTruncated, a.CompletionTruncated), (b.PromptTruncated, b.CompletionTruncated));
        }
        Assert.Equal(first.Report.ToText(), second.Report.ToText());
        Assert.Equal(DataFormat.Explicit, second.Format);
    }

    [Fact]
    public void Changed_settings_tokenizer_or_file_miss_the_cache()
    {
        var path = _dir.File("d.jsonl", """{"prompt": "p", "chosen": "c", "rejected": "r"}""");
        var tok = new TestByteTokenizer();
        Assert.False(TokenizedData.Load(path, tok, new TokenizationOptions(64), cacheDirectory: Cache).FromCache);
        Assert.True(TokenizedData.Load(path, tok, new TokenizationOptions(64), cacheDirectory: Cache).FromCache);
        Assert.False(TokenizedData.Load(path, tok, new TokenizationOptions(65), cacheDirectory: Cache).FromCache);
        Assert.False(TokenizedData.Load(path, new TestByteTokenizer(withBos: false), new TokenizationOptions(64), cacheDirectory: Cache).FromCache);
        Assert.False(TokenizedData.Load(path, tok, new TokenizationOptions(64), new DataOptions { Format = DataFormat.Explicit }, cacheDirectory: Cache).FromCache);
        File.WriteAllText(path, """{"prompt": "p", "chosen": "changed", "rejected": "r"}""");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        var reloaded = TokenizedData.Load(path, tok, new TokenizationOptions(64), cacheDirectory: Cache);
        Assert.False(reloaded.FromCache);
        Assert.Equal("changed", reloaded.Pairs[0].Example.Chosen);
    }

    [Fact]
    public void Corrupt_cache_entry_is_rebuilt()
    {
        var path = _dir.File("d.jsonl", """{"prompt": "p", "chosen": "c", "rejected": "r"}""");
        var tok = new TestByteTokenizer();
        TokenizedData.Load(path, tok, new TokenizationOptions(64), cacheDirectory: Cache);
        var entry = Assert.Single(Directory.GetFiles(Cache));
        File.WriteAllBytes(entry, File.ReadAllBytes(entry)[..40]);
        var again = TokenizedData.Load(path, tok, new TokenizationOptions(64), cacheDirectory: Cache);
        Assert.False(again.FromCache);
        Assert.True(TokenizedData.Load(path, tok, new TokenizationOptions(64), cacheDirectory: Cache).FromCache);
    }
}
