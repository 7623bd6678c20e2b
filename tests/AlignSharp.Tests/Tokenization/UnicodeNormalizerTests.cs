using AlignSharp.Tokenization.Normalization;

namespace AlignSharp.Tests.Tokenization;

/// <summary>NFC/NFD from the generated tables (string.Normalize is a no-op under InvariantGlobalization).</summary>
public sealed class UnicodeNormalizerTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")] // e + combining acute -> é
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul jamo L V T -> 각
    [InlineData("a\u0307\u0323", "\u1EA1\u0307")] // reordered: dot below (220) composes first, dot above (230) stays
    [InlineData("\u212B", "\u00C5")] // Angstrom sign (singleton) -> Å
    [InlineData("\u0958", "\u0915\u093C")] // composition exclusion: Devanagari QA stays decomposed
    [InlineData("plain ascii", "plain ascii")]
    public void Nfc(string input, string expected) => Assert.Equal(expected, UnicodeNormalizer.Nfc(input));

    [Theory]
    [InlineData("\u00E9", "e\u0301")]
    [InlineData("\uAC01", "\u1100\u1161\u11A8")]
    [InlineData("\u1EA1\u0307", "a\u0323\u0307")]
    public void Nfd(string input, string expected) => Assert.Equal(expected, UnicodeNormalizer.Nfd(input));
}
