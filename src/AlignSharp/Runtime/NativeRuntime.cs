using AlignSharp.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;

namespace AlignSharp.Runtime;

/// <summary>Raised when libtorch cannot be loaded; the message says why and what to try.</summary>
public sealed class NativeRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Makes TorchSharp's native library loadable before anything touches <c>torch</c>.
/// <para>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> declares a need for <c>GLIBCXX_3.4.32</c> (GCC 13's
/// libstdc++) for a single symbol it never calls. On systems whose libstdc++ stops earlier (Debian 12:
/// GLIBCXX_3.4.30) the loader refuses the library. We mark that one requirement weak, in place next to the
/// application when the folder is writable, otherwise in a private copy under the user cache that is loaded
/// by full path after its dependencies. Nothing is changed where the system provides the version, or on
/// other operating systems.
/// </para>
/// </summary>
public static class NativeRuntime
{
    private const string TorchSharpLib = "libLibTorchSharp.so";
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private static readonly Lock Gate = new();
    private static bool _ready;

    /// <summary>Runs once when the library is first used, so consumers need no set-up call.</summary>
#pragma warning disable CA2255 // A library module initializer is the point: it must run before TorchSharp loads.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void OnModuleLoad()
    {
        try { PrepareNativeLibrary(); }
        catch { /* EnsureLoaded reports the failure with a clear message when torch is first needed. */ }
    }

    /// <summary>Patches the native library if this platform needs it, loads libtorch, and throws one clear error if it cannot.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_ready) return;
            string? note;
            try { note = PrepareNativeLibrary(); }
            catch (Exception e) { throw new NativeRuntimeException($"AlignSharp could not prepare TorchSharp's native library: {e.Message}", e); }
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                using var probe = torch.ones(2).sum();
                _ready = true;
            }
            catch (Exception e)
            {
                string hint = OperatingSystem.IsLinux()
                    ? $" Run `ldd` on {FindLibrary() ?? TorchSharpLib} to see which dependency or symbol version is missing."
                    : "";
                throw new NativeRuntimeException(
                    $"TorchSharp's native runtime (libtorch 2.10, CPU) failed to load: {FirstLine(e.Message)}.{hint}" +
                    (note is null ? "" : $" ({note})"), e);
            }
        }
    }

    /// <summary>Applies the weak-version fix where needed; returns a note on what was done, or null.</summary>
    internal static string? PrepareNativeLibrary()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        string? path = FindLibrary();
        if (path is null) return "libLibTorchSharp.so not found next to the application";
        byte[] image = File.ReadAllBytes(path);
        if (!NeedsFix(image)) return null;

        byte[] patched = (byte[])image.Clone();
        ElfVersionNeeds.MarkWeak(patched, MissingVersion);
        if (TryReplaceAtomically(path, patched)) return $"marked {MissingVersion} weak in {path}";

        // Read-only install: keep a patched private copy and load it (after its dependencies) by full path,
        // so TorchSharp's own load by soname finds the already-loaded copy.
        string hash = Convert.ToHexString(SHA256.HashData(image))[..16];
        string cacheDir = Path.Combine(CacheDirectory.For("native"), hash);
        Directory.CreateDirectory(cacheDir);
        string copy = Path.Combine(cacheDir, TorchSharpLib);
        if (!File.Exists(copy)) TryReplaceAtomically(copy, patched);
        string dir = Path.GetDirectoryName(path)!;
        foreach (var dep in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            string depPath = FindSibling(dep, dir) ?? throw new FileNotFoundException($"{dep} not found near {path}");
            NativeLibrary.Load(depPath);
        }
        NativeLibrary.Load(copy);
        return $"loaded a patched copy from {copy}";
    }

    private static bool NeedsFix(byte[] image)
    {
        bool strictNeed = ElfVersionNeeds.Read(image).Any(r => r.Version == MissingVersion && !r.IsWeak);
        return strictNeed && !SystemLibStdCxxHas(MissingVersion);
    }

    private static bool SystemLibStdCxxHas(string version)
    {
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" })
        {
            string lib = Path.Combine(dir, "libstdc++.so.6");
            if (!File.Exists(lib)) continue;
            var bytes = File.ReadAllBytes(lib);
            return bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(version + "\0")) >= 0;
        }
        return false;
    }

    private static bool TryReplaceAtomically(string path, byte[] content)
    {
        try
        {
            AtomicFile.WriteAllBytes(path, content);
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    private static string? FindLibrary()
    {
        var dirs = new List<string> { AppContext.BaseDirectory };
        string? asmDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(asmDir)) dirs.Add(asmDir);
        foreach (var d in dirs)
            if (FindSibling(TorchSharpLib, d) is { } found) return found;
        return null;
    }

    private static string? FindSibling(string name, string dir)
    {
        foreach (var candidate in new[] { Path.Combine(dir, name), Path.Combine(dir, "runtimes", "linux-x64", "native", name) })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    private static string FirstLine(string s) => s.Split('\n')[0].TrimEnd('.', ' ');
}
