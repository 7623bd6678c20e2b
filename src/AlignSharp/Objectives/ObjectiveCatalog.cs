namespace AlignSharp.Objectives;

/// <summary>
/// The only map from objective ids to classes; the trainer, the CLI and docs/objectives.md all read it. Each
/// class declares its own entry (id, parameters, defaults, paper), so adding an objective is one file plus one
/// line here.
/// </summary>
public static class ObjectiveCatalog
{
    private static readonly ObjectiveEntry[] Entries =
    [
        Dpo.Entry,
        Cdpo.Entry,
        RobustDpo.Entry,
        Ipo.Entry,
        Hinge.Entry,
        SigmoidNorm.Entry,
        SimPo.Entry,
        AlphaPo.Entry,
        Odpo.Entry,
        DpoShift.Entry,
        LengthRegularizedDpo.Entry,
        Dpop.Entry,
        HDpo.Entry,
        Nca.Entry,
        Exo.Entry,
        ApoZero.Entry,
        ApoDown.Entry,
        SppoHard.Entry,
        Sppo.Entry,
        Aot.Entry,
        AotUnpaired.Entry,
        DiscoPop.Entry,
        Cpo.Entry,
        DpoNll.Entry,
        Orpo.Entry,
        RelativePo.Entry,
        DphSeparate.Entry,
        DphContrastive.Entry,
        Bco.Entry,
        BetaDpo.Entry,
        Kto.Entry,
        Sft.Entry,
    ];

    /// <summary>Every registered objective, in table order.</summary>
    public static IReadOnlyList<ObjectiveEntry> All => Entries;

    /// <summary>The entry for <paramref name="id"/>; unknown ids are an error listing the known ones.</summary>
    public static ObjectiveEntry Get(string id) =>
        Entries.FirstOrDefault(e => e.Id == id)
        ?? throw new ObjectiveException($"unknown objective '{id}' (known: {string.Join(", ", Entries.Select(e => e.Id))})");

    /// <summary>Creates the objective <paramref name="id"/>; unknown ids and unknown parameters are errors naming them.</summary>
    public static IPreferenceObjective Create(string id, ObjectiveParams parameters) => Get(id).Create(parameters);
}
