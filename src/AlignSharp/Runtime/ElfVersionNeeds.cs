using System.Buffers.Binary;
using System.Text;

namespace AlignSharp.Runtime;

/// <summary>
/// Reads and edits the GNU version-needs table (<c>.gnu.version_r</c>) of a 64-bit little-endian ELF
/// shared library. Written by hand because no NuGet package edits ELF symbol versioning, and the edit is
/// a two-byte flag change: marking one <c>Vernaux</c> entry <c>VER_FLG_WEAK</c> makes the dynamic loader
/// accept a missing version instead of refusing the whole library.
/// </summary>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>One version requirement: its name, the library it is needed from, its flags and the file offset of those flags.</summary>
    internal sealed record Requirement(string Version, string Library, ushort Flags, long FlagsOffset)
    {
        public bool IsWeak => (Flags & VerFlgWeak) != 0;
    }

    /// <summary>Lists every version requirement of the ELF image in <paramref name="elf"/>.</summary>
    public static IReadOnlyList<Requirement> Read(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        var result = new List<Requirement>();
        for (int i = 0; i < shnum; i++)
        {
            var sh = Slice(elf, shoff + (long)i * shentsize, 64);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]); // sh_info = number of Verneed entries
            var strtab = Slice(elf, shoff + (long)link * shentsize, 64);
            long strOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x18..]);

            long need = offset;
            for (int n = 0; n < count; n++)
            {
                var vn = Slice(elf, need, 16);
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(vn[2..]);
                string file = ReadString(elf, strOffset + BinaryPrimitives.ReadUInt32LittleEndian(vn[4..]));
                long aux = need + BinaryPrimitives.ReadUInt32LittleEndian(vn[8..]);
                for (int a = 0; a < auxCount; a++)
                {
                    var va = Slice(elf, aux, 16);
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(va[4..]);
                    string name = ReadString(elf, strOffset + BinaryPrimitives.ReadUInt32LittleEndian(va[8..]));
                    result.Add(new Requirement(name, file, flags, aux + 4));
                    aux += BinaryPrimitives.ReadUInt32LittleEndian(va[12..]);
                }
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(vn[12..]);
                if (next == 0) break;
                need += next;
            }
        }
        return result;
    }

    /// <summary>Marks the named version requirement weak in place; returns false when it is absent or already weak.</summary>
    public static bool MarkWeak(Span<byte> elf, string version)
    {
        bool changed = false;
        foreach (var r in Read(elf))
        {
            if (r.Version != version || r.IsWeak) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf[(int)r.FlagsOffset..], (ushort)(r.Flags | VerFlgWeak));
            changed = true;
        }
        return changed;
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> elf, long offset, int length)
    {
        if (offset < 0 || offset + length > elf.Length)
            throw new InvalidDataException($"ELF structure at offset {offset} lies outside the file");
        return elf.Slice((int)offset, length);
    }

    private static string ReadString(ReadOnlySpan<byte> elf, long offset)
    {
        var rest = Slice(elf, offset, 1).Length == 1 ? elf[(int)offset..] : default;
        int end = rest.IndexOf((byte)0);
        if (end < 0) throw new InvalidDataException("unterminated ELF string");
        return Encoding.ASCII.GetString(rest[..end]);
    }
}
