namespace AlignSharp.Data.Formats;

/// <summary>What a piece of a completion is, for objectives that count tokens selectively.</summary>
public enum PartKind
{
    /// <summary>A reasoning step (Step-DPO, SCDPO, TPO): a label.</summary>
    Step,
    /// <summary>An agent (assistant) turn of a trajectory or dialogue: a label.</summary>
    AgentTurn,
    /// <summary>Another speaker's or the environment's turn inside a completion: never a label.</summary>
    OtherTurn,
}

/// <summary>
/// One piece of a completion's text: its kind, its index among the pieces of that kind (step number or agent turn
/// number, 0-based), and whether it lies in the key segment (SDPO). The pieces of a completion concatenate to it
/// exactly, so tokenizing them one by one aligns every token with its piece.
/// </summary>
public sealed record CompletionPart(string Text, PartKind Kind, int Index, bool InSegment = false)
{
    /// <summary>True when the part's tokens are labels (steps and agent turns).</summary>
    public bool IsLabel => Kind != PartKind.OtherTurn;
}

/// <summary>
/// The token-level structure a record format carries beside the text of a pair (spec objectives-tokenlevel.md,
/// "Data each objective needs"): the pieces of each completion, the reasoning steps moved into the prompt
/// (Step-DPO's <c>initial_reason_steps</c>), the refinement prompt (Sr-DPO), and whether the chosen text is a
/// minimal edit of the rejected one (BMC: diff masks are computed from the two token sequences).
/// </summary>
public sealed record PairAnnotations
{
    /// <summary>Pieces of the chosen completion (concatenating to it), or null for plain text.</summary>
    public IReadOnlyList<CompletionPart>? Chosen { get; init; }

    /// <summary>Pieces of the rejected completion, or null for plain text.</summary>
    public IReadOnlyList<CompletionPart>? Rejected { get; init; }

    /// <summary>Number of correct steps appended to the prompt (the shared prefix; 0 for naive pairs).</summary>
    public int PrefixSteps { get; init; }

    /// <summary>Sr-DPO's refinement prompt p, placed before the query for the second pass.</summary>
    public string? RefinementPrompt { get; init; }

    /// <summary>True when chosen is a minimal edit of rejected (BMC's pseudo-winning response).</summary>
    public bool Edit { get; init; }

    /// <summary>Number of agent turns of each side (DMPO's T; 0 when the completion has no turns).</summary>
    public (int Chosen, int Rejected) AgentTurns =>
        (Chosen?.Count(p => p.Kind == PartKind.AgentTurn) ?? 0,
            Rejected?.Count(p => p.Kind == PartKind.AgentTurn) ?? 0);
}

/// <summary>
/// A prompt with scored responses split into steps: TPO's preference tree (<c>tree</c> records: N ≥ 2 responses,
/// best-scored first; every response has the same number of steps K, the shortest's, trailing steps merged into step
/// K as the released code does) or OREO's trajectory (<c>outcome</c> records: one solution, its outcome reward as the
/// score).
/// </summary>
public sealed record TreeExample(
    string Prompt, IReadOnlyList<IReadOnlyList<string>> Steps, IReadOnlyList<double> Scores, SourceLocation Source)
{
    /// <summary>Number of responses N.</summary>
    public int Count => Steps.Count;

    /// <summary>
    /// True when every token is a state (OREO's token-level MDP: an <c>outcome</c> record with a <c>solution</c>
    /// text); false when each step's first token is (the step-level MDP: <c>steps</c> lists; TPO's trees).
    /// </summary>
    public bool EveryTokenIsState { get; init; }

    /// <summary>Response n's text: its steps joined.</summary>
    public string Text(int n) => string.Concat(Steps[n]);
}
