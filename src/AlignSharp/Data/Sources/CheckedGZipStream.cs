using System.Buffers.Binary;
using System.IO.Compression;

namespace AlignSharp.Data.Sources;

/// <summary>
/// A gzip reader that notices a truncated file. <see cref="GZipStream"/> ends quietly when a file is cut short;
/// this wrapper counts the bytes it decompresses and, at the end, compares them with the size recorded in the gzip
/// trailer (ISIZE, the last 4 bytes, modulo 2^32), throwing <see cref="InvalidDataException"/> on a mismatch.
/// Multi-member files record only their last member's size there, so the check applies to single-member files
/// (what gzip and Python write); a mismatch on a multi-member file is reported the same way.
/// </summary>
internal sealed class CheckedGZipStream(string path) : Stream
{
    private readonly GZipStream _inner = new(File.OpenRead(path), CompressionMode.Decompress);
    private long _total;
    private bool _checked;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        _total += n;
        if (n == 0 && buffer.Length > 0 && !_checked)
        {
            _checked = true;
            uint expected = TrailerSize();
            if (expected != (uint)_total)
                throw new InvalidDataException($"gzip file is truncated or corrupt: decompressed {_total} bytes, its trailer records {expected}");
        }
        return n;
    }

    private uint TrailerSize()
    {
        using var f = File.OpenRead(path);
        if (f.Length < 4) return uint.MaxValue;
        f.Seek(-4, SeekOrigin.End);
        Span<byte> b = stackalloc byte[4];
        f.ReadExactly(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _total; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
