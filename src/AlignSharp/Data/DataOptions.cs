using AlignSharp.Data.Chat;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;

namespace AlignSharp.Data;

/// <summary>How preference data is read: its format, what to do with bad records, how ranked records pair, which chat template renders conversations.</summary>
public sealed record DataOptions
{
    /// <summary>Record layout; <see cref="DataFormat.Auto"/> detects it from the first record.</summary>
    public DataFormat Format { get; init; } = DataFormat.Auto;

    /// <summary>Skip bad records with a report (default) or fail at the first.</summary>
    public BadRecordPolicy OnBadRecord { get; init; } = BadRecordPolicy.Skip;

    /// <summary>Rule turning ranked records into pairs.</summary>
    public RankedPairing Pairing { get; init; } = RankedPairing.BestVsWorst;

    /// <summary>Renders conversational records; the plain fallback template unless the model's own is given.</summary>
    public IChatFormatter ChatFormatter { get; init; } = new PlainChatFormatter();

    /// <summary>Examples kept per issue in the report.</summary>
    public int ExamplesPerIssue { get; init; } = 3;

    /// <summary>The settings that change what loading produces, as a stable string (part of cache keys).</summary>
    public string CacheKey => $"format={Format};policy={OnBadRecord};pairing={Pairing};chat={ChatFormatter.Name};examples={ExamplesPerIssue}";
}
