using System.Globalization;

namespace AlignSharp.Objectives;

/// <summary>
/// Declaration of one objective parameter: its name exactly as in the canonical table, its default, a one-line
/// description and the values it accepts. The catalog lists these and <see cref="ObjectiveParams"/> reads them.
/// </summary>
public abstract record ObjectiveParameter(string Name, string Description)
{
    /// <summary>The default as users write it in a config (invariant culture).</summary>
    public abstract string DefaultText { get; }

    /// <summary>The accepted values, for listings (e.g. "(0, inf)" or "difference|ratio").</summary>
    public abstract string AcceptedText { get; }
}

/// <summary>A real-valued parameter with an accepted interval.</summary>
public sealed record NumberParameter(string Name, double Default, string Description, Interval Accepts)
    : ObjectiveParameter(Name, Description)
{
    /// <summary>
    /// True when the table gives no default (e.g. iLR-DPO's α): a config must set it. <see cref="Default"/> is then
    /// only the value used to read the objective's static traits (reference need, reduction).
    /// </summary>
    public bool Required { get; init; }

    /// <inheritdoc />
    public override string DefaultText => Required ? "required" : Format(Default);

    /// <inheritdoc />
    public override string AcceptedText => Accepts.ToString();

    /// <summary>A number as in the canonical table: integral values keep ".0" (2.0), others round-trip ("R").</summary>
    internal static string Format(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < 1e15 ? v.ToString("F1", CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Returns <paramref name="value"/> if accepted, else an error naming the objective and this parameter.</summary>
    public double Check(string objective, double value) =>
        Accepts.Contains(value)
            ? value
            : throw new ObjectiveException($"objective '{objective}': parameter '{Name}' must be in {Accepts}, got {value.ToString("R", CultureInfo.InvariantCulture)}");
}

/// <summary>A true/false parameter.</summary>
public sealed record FlagParameter(string Name, bool Default, string Description) : ObjectiveParameter(Name, Description)
{
    /// <inheritdoc />
    public override string DefaultText => Default ? "true" : "false";

    /// <inheritdoc />
    public override string AcceptedText => "true|false";
}

/// <summary>A parameter taking one of a fixed set of words.</summary>
public sealed record ChoiceParameter(string Name, string Default, string Description, IReadOnlyList<string> Choices)
    : ObjectiveParameter(Name, Description)
{
    /// <inheritdoc />
    public override string DefaultText => Default;

    /// <inheritdoc />
    public override string AcceptedText => string.Join("|", Choices);
}

/// <summary>A real interval with open or closed ends (infinite ends are open).</summary>
public sealed record Interval(double Min, double Max, bool MinOpen, bool MaxOpen)
{
    /// <summary>Every finite number.</summary>
    public static Interval Any { get; } = new(double.NegativeInfinity, double.PositiveInfinity, true, true);

    /// <summary>(0, inf).</summary>
    public static Interval Positive { get; } = new(0, double.PositiveInfinity, true, true);

    /// <summary>[0, inf).</summary>
    public static Interval NonNegative { get; } = new(0, double.PositiveInfinity, false, true);

    /// <summary>[0, 1].</summary>
    public static Interval Unit { get; } = new(0, 1, false, false);

    /// <summary>True when <paramref name="v"/> is finite and inside.</summary>
    public bool Contains(double v) =>
        double.IsFinite(v)
        && (MinOpen ? v > Min : v >= Min)
        && (MaxOpen ? v < Max : v <= Max);

    /// <inheritdoc />
    public override string ToString() =>
        $"{(MinOpen ? "(" : "[")}{Format(Min)}, {Format(Max)}{(MaxOpen ? ")" : "]")}";

    private static string Format(double v) =>
        double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString("R", CultureInfo.InvariantCulture);
}
