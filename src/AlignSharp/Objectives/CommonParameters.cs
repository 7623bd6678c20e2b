namespace AlignSharp.Objectives;

/// <summary>Parameter declarations shared by several objectives (same name, meaning and accepted values).</summary>
internal static class CommonParameters
{
    /// <summary>β, the inverse temperature scaling the implicit reward (default 0.1 unless a paper says otherwise).</summary>
    public static NumberParameter Beta(double defaultValue = 0.1) =>
        new("beta", defaultValue, "temperature β: scale of the implicit reward β·log(π/π_ref)", Interval.Positive);

    /// <summary>Label smoothing ε in [0, 0.5]: the assumed fraction of flipped preference labels.</summary>
    public static NumberParameter LabelSmoothing(double defaultValue, string description = "label smoothing ε: assumed fraction of flipped labels") =>
        new("label_smoothing", defaultValue, description, new Interval(0, 0.5, false, false));
}
