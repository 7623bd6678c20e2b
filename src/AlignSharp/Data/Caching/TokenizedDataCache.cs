using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;
using AlignSharp.IO;

namespace AlignSharp.Data.Caching;

/// <summary>
/// On-disk cache of tokenized preference data, one binary file per key. The key hashes each data file's path, size and
/// modification time, the tokenizer's identity, and the loading and tokenization settings; any change is a miss.
/// Files are written to a temporary name and renamed, so a reader never sees half a file; an unreadable entry is a miss.
/// </summary>
public sealed class TokenizedDataCache(string directory)
{
    private const string Magic = "ALIGNSHARP-TOKENIZED-DATA";
    private const int Version = 2; // 2: token-level annotations and per-token arrays

    /// <summary>The folder holding cache files.</summary>
    public string Directory { get; } = directory;

    /// <summary>The cache key of a load.</summary>
    public static string Key(IReadOnlyList<string> files, string tokenizerIdentity, DataOptions data, TokenizationOptions tokenization)
    {
        var sb = new StringBuilder($"v{Version}\n");
        foreach (var f in files)
        {
            var info = new FileInfo(f);
            sb.Append($"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}\n");
        }
        sb.Append(tokenizerIdentity).Append('\n').Append(data.CacheKey).Append('\n').Append(tokenization.CacheKey);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>The file a key is stored in.</summary>
    public string PathOf(string key) => Path.Combine(Directory, $"{key}.tokens");

    /// <summary>Reads an entry, or null when absent or unreadable.</summary>
    public TokenizedData? TryLoad(string key)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) return null;
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (r.ReadString() != Magic || r.ReadInt32() != Version || r.ReadString() != key) return null;
            var report = DataReport.FromSnapshot(JsonSerializer.Deserialize<DataReportSnapshot>(r.ReadString())!);
            var format = (DataFormat)r.ReadInt32();
            var files = new string[r.ReadInt32()];
            for (int i = 0; i < files.Length; i++) files[i] = r.ReadString();
            var pairs = new TokenizedPair[r.ReadInt32()];
            for (int i = 0; i < pairs.Length; i++)
            {
                var where = new SourceLocation(files[r.ReadInt32()], r.ReadInt64()) { IsRow = r.ReadBoolean() };
                string prompt = r.ReadString(), chosen = r.ReadString(), rejected = r.ReadString();
                var extras = new Dictionary<string, double>();
                for (int n = r.ReadInt32(), k = 0; k < n; k++) extras[r.ReadString()] = r.ReadDouble();
                bool promptCut = r.ReadBoolean(), completionCut = r.ReadBoolean();
                var example = new PreferenceExample(prompt, chosen, rejected, where)
                {
                    Extras = extras, Annotations = ReadAnnotations(r),
                };
                pairs[i] = new TokenizedPair(Ids(r), Ids(r), Ids(r), example)
                {
                    PromptTruncated = promptCut, CompletionTruncated = completionCut,
                    ChosenParts = OptionalIds(r), RejectedParts = OptionalIds(r), ChosenDiff = OptionalIds(r),
                    RejectedDiff = OptionalIds(r), RefinedPrompt = OptionalIds(r),
                };
            }
            return new TokenizedData(files, format, pairs, report, FromCache: true);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or JsonException or InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Writes an entry atomically (temporary file, then rename).</summary>
    public void Save(string key, TokenizedData data)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(key);
        AtomicFile.WriteStream(path, stream =>
        {
            using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(Version);
                w.Write(key);
                w.Write(JsonSerializer.Serialize(data.Report.ToSnapshot()));
                w.Write((int)data.Format);
                var fileIndex = data.Files.Select((f, i) => (f, i)).ToDictionary(x => x.f, x => x.i);
                w.Write(data.Files.Count);
                foreach (var f in data.Files) w.Write(f);
                w.Write(data.Pairs.Count);
                foreach (var p in data.Pairs)
                {
                    var e = p.Example;
                    w.Write(fileIndex[e.Source.File]);
                    w.Write(e.Source.Line);
                    w.Write(e.Source.IsRow);
                    w.Write(e.Prompt);
                    w.Write(e.Chosen);
                    w.Write(e.Rejected);
                    w.Write(e.Extras.Count);
                    foreach (var (name, value) in e.Extras) { w.Write(name); w.Write(value); }
                    w.Write(p.PromptTruncated);
                    w.Write(p.CompletionTruncated);
                    WriteAnnotations(w, e.Annotations);
                    Write(w, p.Prompt);
                    Write(w, p.Chosen);
                    Write(w, p.Rejected);
                    foreach (var ids in new[] { p.ChosenParts, p.RejectedParts, p.ChosenDiff, p.RejectedDiff, p.RefinedPrompt })
                        WriteOptional(w, ids);
                }
            }
        });
    }

    private static void Write(BinaryWriter w, int[] ids)
    {
        w.Write(ids.Length);
        foreach (var id in ids) w.Write(id);
    }

    private static void WriteOptional(BinaryWriter w, int[]? ids)
    {
        w.Write(ids is not null);
        if (ids is not null) Write(w, ids);
    }

    private static int[]? OptionalIds(BinaryReader r) => r.ReadBoolean() ? Ids(r) : null;

    private static void WriteAnnotations(BinaryWriter w, PairAnnotations? a)
    {
        w.Write(a is not null);
        if (a is null) return;
        WriteParts(w, a.Chosen);
        WriteParts(w, a.Rejected);
        w.Write(a.PrefixSteps);
        w.Write(a.RefinementPrompt is not null);
        if (a.RefinementPrompt is not null) w.Write(a.RefinementPrompt);
        w.Write(a.Edit);
    }

    private static void WriteParts(BinaryWriter w, IReadOnlyList<CompletionPart>? parts)
    {
        w.Write(parts?.Count ?? -1);
        foreach (var part in parts ?? [])
        {
            w.Write(part.Text);
            w.Write((int)part.Kind);
            w.Write(part.Index);
            w.Write(part.InSegment);
        }
    }

    private static PairAnnotations? ReadAnnotations(BinaryReader r)
    {
        if (!r.ReadBoolean()) return null;
        var chosen = ReadParts(r);
        var rejected = ReadParts(r);
        int prefix = r.ReadInt32();
        string? refinement = r.ReadBoolean() ? r.ReadString() : null;
        return new PairAnnotations
        {
            Chosen = chosen, Rejected = rejected, PrefixSteps = prefix, RefinementPrompt = refinement,
            Edit = r.ReadBoolean(),
        };
    }

    private static List<CompletionPart>? ReadParts(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0) return null;
        var parts = new List<CompletionPart>(n);
        for (int i = 0; i < n; i++)
            parts.Add(new CompletionPart(r.ReadString(), (PartKind)r.ReadInt32(), r.ReadInt32(), r.ReadBoolean()));
        return parts;
    }

    private static int[] Ids(BinaryReader r)
    {
        var ids = new int[r.ReadInt32()];
        for (int i = 0; i < ids.Length; i++) ids[i] = r.ReadInt32();
        return ids;
    }
}
