using System.Runtime.CompilerServices;

namespace AlignSharp.Tests;

internal static class TestSetup
{
    /// <summary>Tests may touch TorchSharp before any AlignSharp type; make the native runtime ready first.</summary>
    [ModuleInitializer]
    internal static void Init() => AlignSharp.Runtime.NativeRuntime.EnsureLoaded();

    /// <summary>The shared fixtures folder (../shared from the repository root).</summary>
    internal static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    internal static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AlignSharp.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root (AlignSharp.slnx) not found");
        }
    }
}
