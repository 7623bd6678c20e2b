namespace AlignSharp.Tests;

/// <summary>
/// Temporary folders of this test process, all under one root that is deleted when the process exits, so a test
/// that forgets (or cannot, e.g. after an assertion) to clean up leaves nothing behind in /tmp.
/// </summary>
internal static class TestTemp
{
    private static readonly Lazy<string> RootDir = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "alignsharp-tests", $"{Environment.ProcessId}-{Guid.NewGuid():n}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete(root);
        return root;
    });

    /// <summary>The process's root folder (created on first use).</summary>
    public static string Root => RootDir.Value;

    /// <summary>A new empty folder under <see cref="Root"/>.</summary>
    public static string Dir(string prefix = "t")
    {
        string d = Path.Combine(Root, $"{prefix}-{Guid.NewGuid():n}");
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>A path for a new file under <see cref="Root"/> (the file is not created).</summary>
    public static string File(string name) => Path.Combine(Dir("f"), name);

    /// <summary>Deletes a folder tree, ignoring what is already gone or still in use.</summary>
    public static void Delete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
