using Microsoft.Extensions.FileSystemGlobbing;

namespace AlignSharp.Data.Sources;

/// <summary>The container formats a data file can have.</summary>
public enum DataFileKind
{
    /// <summary>One JSON object per line (.jsonl, .jsonl.gz; also .json files that start with an object).</summary>
    JsonLines,
    /// <summary>One JSON array of objects (.json, .json.gz).</summary>
    JsonArray,
    /// <summary>Apache Parquet (.parquet), as Hugging Face stores data sets.</summary>
    Parquet,
}

/// <summary>Resolves a <c>--data</c> value (a file, a folder of shards, or a glob) into data files, and opens them.</summary>
public static class DataFiles
{
    private static readonly string[] Extensions = [".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet"];

    /// <summary>
    /// The files <paramref name="spec"/> names, in ordinal order: the file itself; every supported file under a folder
    /// (recursively); or the files a glob matches (<c>*</c>, <c>?</c>, <c>**</c>). Throws a <see cref="DataException"/>
    /// naming the spec when nothing matches or a file type is not supported.
    /// </summary>
    public static IReadOnlyList<string> Resolve(string spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) throw new DataException(SourceLocation.WholeFile("--data"), "no data path given");
        List<string> files;
        if (File.Exists(spec)) files = [Path.GetFullPath(spec)];
        else if (Directory.Exists(spec))
        {
            files = Directory.EnumerateFiles(spec, "*", SearchOption.AllDirectories).Where(IsSupported).Select(Path.GetFullPath).ToList();
            if (files.Count == 0)
                throw new DataException(SourceLocation.WholeFile(spec), $"folder holds no data files ({string.Join(", ", Extensions)})");
        }
        else if (spec.IndexOfAny(['*', '?']) >= 0) files = Glob(spec);
        else throw new DataException(SourceLocation.WholeFile(spec), "data path not found (neither a file, a folder nor a glob)");

        foreach (var f in files)
            if (!IsSupported(f)) throw new DataException(SourceLocation.WholeFile(f), $"unsupported data file type (expected {string.Join(", ", Extensions)})");
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>True for the extensions the readers handle.</summary>
    public static bool IsSupported(string path) => Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>The container format, from the extension (a .json file starting with an object is JSON Lines).</summary>
    public static DataFileKind KindOf(string path)
    {
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)) return DataFileKind.Parquet;
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jsonl.gz", StringComparison.OrdinalIgnoreCase)) return DataFileKind.JsonLines;
        using var s = OpenRead(path);
        int b;
        try
        {
            do b = s.ReadByte(); while (b is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF);
        }
        catch (InvalidDataException e) { throw new DataException(SourceLocation.WholeFile(path), $"corrupt gzip stream ({e.Message})"); }
        return b == '[' ? DataFileKind.JsonArray : DataFileKind.JsonLines;
    }

    /// <summary>Opens a file for reading, decompressing .gz.</summary>
    public static Stream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new DataException(SourceLocation.WholeFile(path), "data file not found");
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new CheckedGZipStream(path) : File.OpenRead(path);
    }

    private static List<string> Glob(string spec)
    {
        // The base folder is the longest leading run of path segments without wildcards.
        var full = Path.GetFullPath(spec);
        var parts = full.Split(Path.DirectorySeparatorChar);
        int firstWild = Array.FindIndex(parts, p => p.IndexOfAny(['*', '?']) >= 0);
        var root = string.Join(Path.DirectorySeparatorChar, parts[..firstWild]);
        if (root.Length == 0) root = Path.DirectorySeparatorChar.ToString();
        var pattern = string.Join('/', parts[firstWild..]);
        if (!Directory.Exists(root)) throw new DataException(SourceLocation.WholeFile(spec), $"folder of the glob not found: {root}");
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(pattern);
        var files = matcher.GetResultsInFullPath(root).ToList();
        if (files.Count == 0) throw new DataException(SourceLocation.WholeFile(spec), "glob matches no files");
        return files;
    }
}
