using AlignSharp.Runtime;
using TorchSharp;

namespace AlignSharp.Tests;

public sealed class NativeRuntimeTests
{
    [Fact]
    public void Torch_loads_and_computes_after_the_runtime_fix()
    {
        NativeRuntime.EnsureLoaded();
        using var a = torch.tensor(new float[] { 1, 2, 3 });
        using var b = (a * a).sum();
        Assert.Equal(14f, b.item<float>());
    }

    [Fact]
    public void The_shipped_library_has_no_strict_GLIBCXX_3_4_32_need_left_once_loaded()
    {
        NativeRuntime.EnsureLoaded();
        string lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(lib)) lib = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        var needs = ElfVersionNeeds.Read(File.ReadAllBytes(lib));
        Assert.Contains(needs, n => n.Library == "libstdc++.so.6");
        // Either the system has GLIBCXX_3.4.32 (no patch) or the requirement is now weak.
        var v = needs.Single(n => n.Version == "GLIBCXX_3.4.32");
        bool systemHasIt = File.ReadAllText("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", System.Text.Encoding.Latin1).Contains("GLIBCXX_3.4.32\0");
        Assert.True(systemHasIt || v.IsWeak);
    }
}
