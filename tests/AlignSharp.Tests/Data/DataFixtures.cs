using System.IO.Compression;
using System.Text;

namespace AlignSharp.Tests.Data;

/// <summary>A temporary folder for fixture files, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("alignsharp-data-").FullName;

    public string File(string name, string content)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        if (name.EndsWith(".gz"))
        {
            using var gz = new GZipStream(System.IO.File.Create(p), CompressionLevel.Fastest);
            gz.Write(Encoding.UTF8.GetBytes(content));
        }
        else System.IO.File.WriteAllText(p, content, new UTF8Encoding(false));
        return p;
    }

    public string Bytes(string name, byte[] content)
    {
        var p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(p, content);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class Hh
{
    /// <summary>The shared Anthropic HH harmless-base test split (one pair per line).</summary>
    public static string Path => System.IO.Path.Combine(TestSetup.Shared, "data", "hh-rlhf-harmless-base", "test.jsonl.gz");

    private static readonly Lazy<int> LineCount = new(() =>
    {
        using var gz = new GZipStream(System.IO.File.OpenRead(Path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        int n = 0;
        while (reader.ReadLine() is not null) n++;
        return n;
    });

    /// <summary>Lines (records) of the file, counted from the file rather than pinned.</summary>
    public static int Lines => LineCount.Value;
}
