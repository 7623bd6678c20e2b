using System.Buffers.Binary;
using System.Text;

namespace AlignSharp.Training;

/// <summary>
/// Writes TensorBoard event files (<c>events.out.tfevents.*</c>) with scalar summaries, the file TensorBoard reads
/// for <c>training.report_to: [tensorboard]</c>. No TensorBoard writer exists on NuGet for .NET, and the format is
/// small: a TFRecord stream (per record: length as little-endian uint64, the masked CRC32C of those 8 bytes, the
/// data, the masked CRC32C of the data) of <c>Event</c> protocol buffers. The few fields used are encoded here by
/// hand (<see cref="ProtoWriter"/>) so that the core keeps depending on TorchSharp alone:
/// <code>
/// Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
/// Summary { repeated Value value = 1; }
/// Value   { string tag = 1; float simple_value = 2; }
/// </code>
/// Tags follow Hugging Face's TensorBoard callback: <c>eval_x</c> is logged as <c>eval/x</c>, everything else as
/// <c>train/x</c>. Each record is flushed when written, so TensorBoard shows a running job.
/// </summary>
public sealed class TensorBoardEvents : IDisposable
{
    /// <summary>The version string of the first record, as TensorFlow and PyTorch write it.</summary>
    public const string FileVersion = "brain.Event:2";

    private readonly FileStream stream;

    /// <summary>
    /// Starts a new event file in <paramref name="logDir"/> (created if needed), named as PyTorch's
    /// <c>SummaryWriter</c> names them; a resumed run starts another file beside the earlier ones.
    /// </summary>
    public TensorBoardEvents(string logDir)
    {
        Directory.CreateDirectory(logDir);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = Environment.MachineName;
        Path = System.IO.Path.Combine(logDir, $"events.out.tfevents.{seconds}.{host}.{Environment.ProcessId}.0");
        for (int n = 1; File.Exists(Path); n++) Path = System.IO.Path.Combine(logDir,
            $"events.out.tfevents.{seconds}.{host}.{Environment.ProcessId}.{n}");
        stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        var e = new ProtoWriter();
        e.Double(1, WallTime());
        e.String(3, FileVersion);
        WriteRecord(e.ToArray());
    }

    /// <summary>The event file being written.</summary>
    public string Path { get; }

    /// <summary>Writes one event at <paramref name="step"/> with a scalar per finite metric (step and epoch excluded).</summary>
    public void Write(int step, IReadOnlyDictionary<string, double> metrics)
    {
        var summary = new ProtoWriter();
        foreach (var (name, value) in metrics)
        {
            if (name is "step" || !double.IsFinite(value)) continue;
            var v = new ProtoWriter();
            v.String(1, TagOf(name));
            v.Float(2, (float)value);
            summary.Message(1, v);
        }
        var e = new ProtoWriter();
        e.Double(1, WallTime());
        e.Int64(2, step);
        e.Message(5, summary);
        WriteRecord(e.ToArray());
    }

    /// <summary>Hugging Face's tag for a metric: <c>eval_loss</c> -> <c>eval/loss</c>, <c>loss</c> -> <c>train/loss</c>.</summary>
    public static string TagOf(string metric) =>
        metric.StartsWith("eval_", StringComparison.Ordinal) ? "eval/" + metric["eval_".Length..] : "train/" + metric;

    /// <summary>Closes the file.</summary>
    public void Dispose() => stream.Dispose();

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    private void WriteRecord(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
        stream.Flush();
    }
}

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), and TFRecord's masked form of it.</summary>
public static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/> ("123456789" gives 0xE3069283).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: rotated right by 15 bits plus 0xA282EAD8.</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Compute(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}

/// <summary>The protocol-buffer wire format for the four field kinds an event uses.</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream buffer = new();

    public void Double(int field, double value)
    {
        Tag(field, 1); // 64-bit
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, value);
        buffer.Write(b);
    }

    public void Float(int field, float value)
    {
        Tag(field, 5); // 32-bit
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        buffer.Write(b);
    }

    public void Int64(int field, long value)
    {
        Tag(field, 0); // varint
        Varint(unchecked((ulong)value));
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public byte[] ToArray() => buffer.ToArray();

    private void Bytes(int field, byte[] bytes)
    {
        Tag(field, 2); // length-delimited
        Varint((ulong)bytes.Length);
        buffer.Write(bytes);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        buffer.WriteByte((byte)value);
    }
}
