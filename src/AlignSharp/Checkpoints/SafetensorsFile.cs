using AlignSharp.IO;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Checkpoints;

/// <summary>One tensor's header entry: dtype name, shape and byte range relative to the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// A validated safetensors file open for reading. Layout: u64 little-endian header length N, N bytes of JSON header,
/// then the raw little-endian, row-major tensor data addressed by each entry's <c>data_offsets</c>.
/// Hand-written rather than TorchSharp.PyBridge because PyBridge does not validate headers (a truncated or hostile
/// file over-reads or crashes), names no key on strict-load errors and writes no <c>__metadata__</c> nor header padding.
/// The whole header is checked before any tensor byte is read: length bound against the file size, JSON shape,
/// known dtypes, shape x element size == byte span, offsets inside the file, no duplicate names and no overlaps.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Header size cap (same bound as the reference implementation): a larger claim is treated as corrupt.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const int CopyChunkBytes = 1 << 26; // 64 MiB slices keep spans below int.MaxValue for any tensor size
    private readonly SafeFileHandle handle;
    private readonly long dataStart;

    private SafetensorsFile(string path, SafeFileHandle handle, long dataStart, IReadOnlyDictionary<string, string> metadata,
        IReadOnlyDictionary<string, SafetensorsEntry> tensors)
    {
        FilePath = path;
        this.handle = handle;
        this.dataStart = dataStart;
        Metadata = metadata;
        Tensors = tensors;
    }

    /// <summary>The file this was opened from.</summary>
    public string FilePath { get; }

    /// <summary>The <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor entry by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Tensors { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header; throws <see cref="CheckpointException"/> naming the file and key at fault.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: safetensors file not found");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8) throw new CheckpointException($"{path}: truncated safetensors file ({fileLength} bytes, need at least 8 for the header length)");
            Span<byte> lenBytes = stackalloc byte[8];
            ReadExactly(handle, lenBytes, 0, path);
            ulong n = BitConverter.ToUInt64(lenBytes); // safetensors is little-endian; so is every platform .NET runs TorchSharp on
            if (n > (ulong)(fileLength - 8))
                throw new CheckpointException($"{path}: header length {n} exceeds the file size ({fileLength} bytes): truncated or not a safetensors file");
            if (n > MaxHeaderBytes) throw new CheckpointException($"{path}: header length {n} exceeds the {MaxHeaderBytes}-byte limit");
            var header = new byte[n];
            ReadExactly(handle, header, 8, path);
            long dataStart = 8 + (long)n;
            var (meta, tensors) = ParseHeader(path, header, fileLength - dataStart);
            return new SafetensorsFile(path, handle, dataStart, meta, tensors);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads every tensor (see <see cref="Read"/>).</summary>
    public static Dictionary<string, Tensor> ReadAll(string path, bool upcastHalfToFloat32 = true)
    {
        using var file = Open(path);
        return file.Tensors.Keys.ToDictionary(k => k, k => file.Read(k, upcastHalfToFloat32), StringComparer.Ordinal);
    }

    /// <summary>
    /// Reads one tensor onto the CPU. With <paramref name="upcastHalfToFloat32"/> (the default) BF16 and F16 become F32;
    /// both conversions are exact (BF16 is the top half of an F32's bits; every F16 value is an F32 value).
    /// </summary>
    public Tensor Read(string name, bool upcastHalfToFloat32 = true)
    {
        if (!Tensors.TryGetValue(name, out var e)) throw new CheckpointException($"{FilePath}: no tensor named '{name}'");
        SafetensorsDType.TryParse(e.DType, out var type, out _);
        var t = torch.empty(e.Shape, type);
        try
        {
            using (var flat = t.view(-1))
            {
                CopyChunks(flat, (span, offset) => ReadExactly(handle, span, dataStart + e.Begin + offset, FilePath));
            }
            if (upcastHalfToFloat32 && type is ScalarType.BFloat16 or ScalarType.Float16)
            {
                var up = t.to(ScalarType.Float32);
                t.Dispose();
                return up;
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => handle.Dispose();

    /// <summary>
    /// Writes <paramref name="tensors"/> atomically (temp file + rename): names sorted, data tightly packed in that order,
    /// <c>__metadata__</c> = {"format": "pt"} plus <paramref name="metadata"/>, header padded with spaces to a multiple of 8.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var cpu = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in names) cpu[name] = tensors[name].detach().cpu().contiguous();
            byte[] header = BuildHeader(names, cpu, metadata);
            AtomicFile.WriteStream(path, fs =>
            {
                Span<byte> len = stackalloc byte[8];
                BitConverter.TryWriteBytes(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var name in names)
                {
                    using var flat = cpu[name].view(-1);
                    CopyChunks(flat, (span, _) => fs.Write(span));
                }
            });
        }
        finally
        {
            foreach (var t in cpu.Values) t.Dispose();
        }
    }

    private static byte[] BuildHeader(List<string> names, Dictionary<string, Tensor> cpu, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            w.WriteString("format", "pt");
            if (metadata is not null)
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    if (k != "format") w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var name in names)
            {
                var t = cpu[name];
                long bytes = t.NumberOfElements * t.ElementSize;
                w.WriteStartObject(name);
                w.WriteString("dtype", SafetensorsDType.NameOf(t.dtype));
                w.WriteStartArray("shape");
                foreach (var d in t.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    private static (IReadOnlyDictionary<string, string>, IReadOnlyDictionary<string, SafetensorsEntry>) ParseHeader(string path, byte[] header, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new CheckpointException($"{path}: header is not valid UTF-8 text");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException($"{path}: header is not valid JSON ({ex.Message})", ex);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: header is not a JSON object");
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: '__metadata__' is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new CheckpointException($"{path}: '__metadata__.{m.Name}' is not a string");
                        meta[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                var entry = ParseEntry(path, prop, dataLength);
                if (!tensors.TryAdd(entry.Name, entry)) throw new CheckpointException($"{path}: tensor '{entry.Name}' appears twice in the header");
            }
            SafetensorsEntry? previous = null;
            foreach (var e in tensors.Values.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
            {
                if (previous is not null && e.Begin < previous.End)
                    throw new CheckpointException($"{path}: tensors '{previous.Name}' and '{e.Name}' overlap (bytes [{previous.Begin}, {previous.End}) and [{e.Begin}, {e.End}))");
                previous = e;
            }
            return (meta, tensors);
        }
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty prop, long dataLength)
    {
        string name = prop.Name;
        var v = prop.Value;
        string where = $"{path}: tensor '{name}'";
        if (v.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{where}: header entry is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw new CheckpointException($"{where}: missing 'dtype'");
        string dtype = dt.GetString()!;
        if (!SafetensorsDType.TryParse(dtype, out _, out int size))
            throw new CheckpointException($"{where}: unknown or unsupported dtype '{dtype}' (supported: {SafetensorsDType.Known})");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw new CheckpointException($"{where}: missing 'shape'");
        var shape = new long[sh.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new CheckpointException($"{where}: shape entry {d} is not a non-negative integer");
            shape[i++] = dim;
            try { count = checked(count * dim); }
            catch (OverflowException) { throw new CheckpointException($"{where}: shape [{string.Join(", ", shape)}] overflows"); }
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new CheckpointException($"{where}: 'data_offsets' must be [begin, end]");
        if (off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
            || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new CheckpointException($"{where}: invalid data_offsets {off}");
        long expected;
        try { expected = checked(count * size); }
        catch (OverflowException) { throw new CheckpointException($"{where}: shape [{string.Join(", ", shape)}] overflows"); }
        if (end - begin != expected)
            throw new CheckpointException($"{where}: data_offsets [{begin}, {end}) span {end - begin} bytes but {dtype} shape [{string.Join(", ", shape)}] needs {expected}");
        if (end > dataLength)
            throw new CheckpointException($"{where}: data_offsets [{begin}, {end}) run past the end of the data section ({dataLength} bytes): file truncated or header corrupt");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Visits a contiguous 1-D tensor's bytes in slices small enough for a span.</summary>
    private static void CopyChunks(Tensor flat, Action<Span<byte>, long> visit)
    {
        long elementSize = flat.ElementSize;
        long perChunk = Math.Max(1, CopyChunkBytes / elementSize);
        long n = flat.NumberOfElements;
        for (long start = 0; start < n; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, n - start));
            visit(part.bytes, start * elementSize);
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        while (buffer.Length > 0)
        {
            int read = RandomAccess.Read(handle, buffer, offset);
            if (read <= 0) throw new CheckpointException($"{path}: unexpected end of file at byte {offset}");
            buffer = buffer[read..];
            offset += read;
        }
    }
}
