namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// GPT-2's reversible byte-to-character table: printable bytes map to themselves, the others to U+0100 onwards
/// (space becomes 'Ġ', newline 'Ċ'), so that every byte sequence is a string of visible characters.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Character for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildTable();

    /// <summary>Byte value for each mapped character (index = char), -1 where the char is not in the alphabet.</summary>
    public static readonly short[] CharToByte = BuildReverse();

    private static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    private static short[] BuildReverse()
    {
        var reverse = new short[512];
        Array.Fill(reverse, (short)-1);
        for (int b = 0; b < 256; b++) reverse[ByteToChar[b]] = (short)b;
        return reverse;
    }
}
