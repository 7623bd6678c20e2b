using System.Globalization;
using System.Text;

namespace AlignSharp.Training;

/// <summary>Appends metrics as JSON lines (one object per log step), the file TRL users grep and plot.</summary>
public static class MetricsLog
{
    /// <summary>Appends one line; keys in insertion order, numbers in round-trip format.</summary>
    public static void Append(string path, IReadOnlyDictionary<string, double> metrics)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var sb = new StringBuilder("{");
        foreach (var (k, v) in metrics)
        {
            if (sb.Length > 1) sb.Append(", ");
            sb.Append('"').Append(k).Append("\": ");
            sb.Append(double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null");
        }
        File.AppendAllText(path, sb.Append("}\n").ToString());
    }
}
