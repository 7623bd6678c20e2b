using System.Globalization;

// In the root namespace (not AlignSharp.Config) so that records of any layer carry it: Training's options are bound by
// Config, and Training must not import Config.
namespace AlignSharp;

/// <summary>
/// Documents and bounds one configuration key (an init property of a record bound from YAML): what it means, the TRL
/// (or transformers / PEFT) argument it corresponds to, and the range a number must lie in. The config binder checks
/// the range where the value was written; <c>docs/config.md</c> and the TRL-name hints are generated from it.
/// </summary>
/// <param name="meaning">One sentence for the reference: what the key does.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingAttribute(string meaning) : Attribute
{
    /// <summary>What the key does.</summary>
    public string Meaning { get; } = meaning;

    /// <summary>TRL's name(s) for the same setting, comma-separated (null when TRL has none).</summary>
    public string? Trl { get; set; }

    /// <summary>Smallest accepted value (numbers only).</summary>
    public double Min { get; set; } = double.NegativeInfinity;

    /// <summary>Largest accepted value (numbers only).</summary>
    public double Max { get; set; } = double.PositiveInfinity;

    /// <summary>True when <see cref="Min"/> itself is refused.</summary>
    public bool MinExclusive { get; set; }

    /// <summary>True when <see cref="Max"/> itself is refused.</summary>
    public bool MaxExclusive { get; set; }

    /// <summary>TRL's names as a list.</summary>
    public IReadOnlyList<string> TrlNames =>
        Trl is null ? [] : Trl.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>True when the value is bounded on either side.</summary>
    public bool Bounded => !double.IsNegativeInfinity(Min) || !double.IsPositiveInfinity(Max);

    /// <summary>True when <paramref name="value"/> lies in the range (NaN never does).</summary>
    public bool Accepts(double value) =>
        !double.IsNaN(value)
        && (MinExclusive ? value > Min : value >= Min)
        && (MaxExclusive ? value < Max : value <= Max);

    /// <summary>The range as written in errors and docs: "&gt; 0", "&gt;= 1", "in [0, 1]", or "any".</summary>
    public string RangeText
    {
        get
        {
            bool lo = !double.IsNegativeInfinity(Min), hi = !double.IsPositiveInfinity(Max);
            if (lo && hi) return $"in {(MinExclusive ? '(' : '[')}{Num(Min)}, {Num(Max)}{(MaxExclusive ? ')' : ']')}";
            if (lo) return $"{(MinExclusive ? ">" : ">=")} {Num(Min)}";
            if (hi) return $"{(MaxExclusive ? "<" : "<=")} {Num(Max)}";
            return "any";
        }
    }

    private static string Num(double x) => x.ToString("R", CultureInfo.InvariantCulture);
}
