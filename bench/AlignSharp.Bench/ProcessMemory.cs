namespace AlignSharp.Bench;

/// <summary>Resident memory of this process from /proc/self/status (Linux), in MiB.</summary>
internal static class ProcessMemory
{
    /// <summary>Current resident set (VmRSS).</summary>
    public static double RssMiB() => Read("VmRSS");

    /// <summary>Peak resident set since start or the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public static double PeakMiB() => Read("VmHWM");

    /// <summary>Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs, Linux 4.0+); false if refused.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static double Read(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
            var kib = long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0]);
            return Math.Round(kib / 1024.0, 1);
        }
        throw new InvalidOperationException($"/proc/self/status has no {key} line");
    }
}
