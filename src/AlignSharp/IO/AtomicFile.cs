using System.Text;

namespace AlignSharp.IO;

/// <summary>
/// The one way AlignSharp writes an output: into a temporary sibling (<c>.NAME.tmp-PID-GUID</c>, hidden, same folder so
/// the rename stays on one file system), then renamed over the final name, so a reader or a crash never sees half a
/// file or half a folder. A failed write removes its temporary and leaves the previous version in place.
/// </summary>
public static class AtomicFile
{
    /// <summary>Marker in every temporary name: a stale temporary from a killed process is recognisable by it.</summary>
    public const string TempMarker = ".tmp-";

    /// <summary>
    /// A fresh temporary sibling name for <paramref name="path"/>; a file keeps its extension last, so writers that
    /// pick a format by extension (PNG) still see it.
    /// </summary>
    public static string TempPathFor(string path, bool isFile = true)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"cannot write the root folder '{path}'", nameof(path));
        string stem = isFile ? Path.GetFileNameWithoutExtension(full) : Path.GetFileName(full);
        string extension = isFile ? Path.GetExtension(full) : "";
        return Path.Combine(dir, FormattableString.Invariant(
            $".{stem}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}{extension}"));
    }

    /// <summary>Writes <paramref name="path"/> by letting <paramref name="write"/> create the temporary file it is given.</summary>
    public static void Write(string path, Action<string> write)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TempPathFor(full);
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes <paramref name="path"/> through a stream (flushed to disk before the rename).</summary>
    public static void WriteStream(string path, Action<Stream> write) => Write(path, temp =>
    {
        using var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        write(fs);
        fs.Flush(flushToDisk: true);
    });

    /// <summary>Writes <paramref name="text"/> as UTF-8 without BOM.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, temp => File.WriteAllText(temp, text, Utf8));

    /// <summary>Writes <paramref name="lines"/>, each ended by a newline, as UTF-8 without BOM.</summary>
    public static void WriteAllLines(string path, IEnumerable<string> lines) =>
        Write(path, temp => File.WriteAllLines(temp, lines, Utf8));

    /// <summary>Writes <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    /// <summary>
    /// Writes the folder <paramref name="path"/>: <paramref name="fill"/> fills a temporary sibling folder, which then
    /// replaces the folder (an existing one is moved aside, and deleted only after the new one is in place).
    /// </summary>
    public static void WriteDirectory(string path, Action<string> fill)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TempPathFor(full, isFile: false);
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            if (!Directory.Exists(full))
            {
                Directory.Move(temp, full);
                return;
            }
            string old = TempPathFor(full, isFile: false);
            Directory.Move(full, old);
            try
            {
                Directory.Move(temp, full);
            }
            catch
            {
                Directory.Move(old, full);
                throw;
            }
            Directory.Delete(old, recursive: true);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    private static readonly UTF8Encoding Utf8 = new(false);
}
