namespace AlignSharp.IO;

/// <summary>The one cache-root rule: every cache AlignSharp keeps (tokenized data, reference log-probs, native runtime) lives here.</summary>
public static class CacheDirectory
{
    /// <summary>$ALIGNSHARP_CACHE, else $XDG_CACHE_HOME/alignsharp, else ~/.cache/alignsharp.</summary>
    public static string Root =>
        Environment.GetEnvironmentVariable("ALIGNSHARP_CACHE") is { Length: > 0 } a ? a
            : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? Path.Combine(x, "alignsharp")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "alignsharp");

    /// <summary>A named cache under <see cref="Root"/> (e.g. "tokenized-data", "reference-logps", "native").</summary>
    public static string For(string name) => Path.Combine(Root, name);
}
