namespace AlignSharp.Runtime;

/// <summary>What the CPU offers that changes which settings pay off (read from /proc/cpuinfo on Linux).</summary>
public static class CpuFeatures
{
    /// <summary>
    /// True when the CPU has bfloat16 arithmetic instructions (x86: <c>avx512_bf16</c> or <c>amx_bf16</c>; Arm:
    /// <c>bf16</c>), so oneDNN's bfloat16 GEMMs run faster than float32 ones; false when they do not, or when
    /// /proc/cpuinfo cannot be read (other operating systems).
    /// </summary>
    public static bool HasBFloat16 => BFloat16.Value;

    private static readonly Lazy<bool> BFloat16 = new(() =>
    {
        try
        {
            return File.Exists("/proc/cpuinfo") && File.ReadLines("/proc/cpuinfo")
                .Where(l => l.StartsWith("flags", StringComparison.Ordinal) || l.StartsWith("Features", StringComparison.Ordinal))
                .Take(1)
                .Any(l => l.Split(' ', ':', '\t').Any(f => f is "avx512_bf16" or "amx_bf16" or "bf16"));
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    });
}
