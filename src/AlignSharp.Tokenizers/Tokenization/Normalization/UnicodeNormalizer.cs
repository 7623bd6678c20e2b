using System.Text;

namespace AlignSharp.Tokenization.Normalization;

/// <summary>
/// Canonical Unicode normalisation (NFC and NFD) from generated tables.
/// Written here because the repository builds with <c>InvariantGlobalization</c>, under which
/// <see cref="string.Normalize()"/> returns non-ASCII text unchanged; Hugging Face tokenizers such as
/// Pythia/GPT-NeoX apply NFC and must be reproduced exactly. Compatibility forms (NFKC/NFKD) are not supported.
/// </summary>
internal static class UnicodeNormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Tables Data = new();

    /// <summary>Returns the NFC form of <paramref name="text"/>.</summary>
    public static string Nfc(string text) => AllBelow(text, '\u0300') || IsNfcQuick(text) ? text : Compose(Decompose(text));

    /// <summary>Returns the NFD form of <paramref name="text"/>.</summary>
    public static string Nfd(string text) => AllBelow(text, '\u00C0') ? text : ToString(Decompose(text));

    // Fast paths: text below U+0300 has no combining marks and is already composed (NFC-stable); text below
    // U+00C0 has no canonically decomposable character either (NFD-stable).
    private static bool AllBelow(string text, char limit)
    {
        foreach (var c in text)
            if (c >= limit) return false;
        return true;
    }

    /// <summary>
    /// Unicode's NFC quick check: text whose characters all have combining class 0, are not changed by NFC
    /// on their own and cannot combine with a preceding character is already in NFC.
    /// </summary>
    private static bool IsNfcQuick(string text)
    {
        foreach (var rune in text.EnumerateRunes())
            if (rune.Value >= 0x300 && Data.NotNfcStable.Contains(rune.Value)) return false;
        return true;
    }

    private static List<int> Decompose(string text)
    {
        var output = new List<int>(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            int s = cp - SBase;
            if (s is >= 0 and < SCount)
            {
                output.Add(LBase + s / NCount);
                output.Add(VBase + s % NCount / TCount);
                if (s % TCount != 0) output.Add(TBase + s % TCount);
            }
            else if (Data.Decompositions.TryGetValue(cp, out var parts)) output.AddRange(parts);
            else output.Add(cp);
        }
        // Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 1; i < output.Count; i++)
        {
            int ccc = Ccc(output[i]);
            if (ccc == 0) continue;
            for (int j = i; j > 0; j--)
            {
                int prev = Ccc(output[j - 1]);
                if (prev <= ccc) break;
                (output[j - 1], output[j]) = (output[j], output[j - 1]);
            }
        }
        return output;
    }

    private static string Compose(List<int> cps)
    {
        var result = new List<int>(cps.Count);
        int starter = -1;
        foreach (int cp in cps)
        {
            int ccc = Ccc(cp);
            if (starter >= 0)
            {
                bool adjacent = result.Count - 1 == starter;
                int lastCcc = adjacent ? 0 : Ccc(result[^1]);
                bool blocked = !adjacent && (lastCcc == 0 || lastCcc >= ccc);
                if (!blocked && TryCompose(result[starter], cp, out int composite))
                {
                    result[starter] = composite;
                    continue;
                }
            }
            if (ccc == 0) starter = result.Count;
            result.Add(cp);
        }
        return ToString(result);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount)
        {
            composite = first + t;
            return true;
        }
        return Data.Compositions.TryGetValue(((long)first << 32) | (uint)second, out composite);
    }

    private static int Ccc(int cp) => cp < 0x300 ? 0 : Data.CombiningClasses.GetValueOrDefault(cp);

    private static string ToString(List<int> cps)
    {
        var sb = new StringBuilder(cps.Count);
        foreach (int cp in cps) sb.Append(new Rune(cp).ToString());
        return sb.ToString();
    }

    /// <summary>Lookup dictionaries built once from <see cref="UnicodeNfcData"/>.</summary>
    private sealed class Tables
    {
        public readonly Dictionary<int, int> CombiningClasses = new();
        public readonly Dictionary<int, int[]> Decompositions = new();
        public readonly Dictionary<long, int> Compositions = new();

        /// <summary>Characters with a non-zero combining class, changed by NFC alone, or that may compose with what precedes them.</summary>
        public readonly HashSet<int> NotNfcStable = new();

        public Tables()
        {
            var ccc = UnicodeNfcData.CombiningClasses;
            for (int i = 0; i < ccc.Length; i += 2) CombiningClasses[ccc[i]] = ccc[i + 1];
            var dec = UnicodeNfcData.Decompositions;
            for (int i = 0; i < dec.Length;)
            {
                int cp = dec[i], n = dec[i + 1];
                Decompositions[cp] = dec.Slice(i + 2, n).ToArray();
                i += 2 + n;
            }
            var comp = UnicodeNfcData.Compositions;
            for (int i = 0; i < comp.Length; i += 3) Compositions[((long)comp[i] << 32) | (uint)comp[i + 1]] = comp[i + 2];

            NotNfcStable.UnionWith(CombiningClasses.Keys);
            var composites = new HashSet<int>(Compositions.Values);
            NotNfcStable.UnionWith(Decompositions.Keys.Where(cp => !composites.Contains(cp)));
            for (int i = 0; i < comp.Length; i += 3) NotNfcStable.Add(comp[i + 1]);
            for (int cp = VBase; cp < VBase + VCount; cp++) NotNfcStable.Add(cp);
            for (int cp = TBase + 1; cp < TBase + TCount; cp++) NotNfcStable.Add(cp);
        }
    }
}
