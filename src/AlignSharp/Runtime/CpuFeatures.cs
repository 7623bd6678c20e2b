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

    /// <summary>
    /// The warning for asking for bfloat16 matmuls through <paramref name="setting"/> on a CPU without bfloat16
    /// instructions (results stay correct; the matmuls are slower than float32 ones), or null when the CPU has them.
    /// </summary>
    public static string? BFloat16Warning(string setting) => HasBFloat16 ? null
        : $"warning: {setting} is bfloat16 but this CPU reports no bfloat16 instructions (avx512_bf16, amx_bf16 or bf16 " +
          "in /proc/cpuinfo): results stay correct but bfloat16 matmuls are slower than float32 here; use float32";

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
