using AlignSharp.Data.Validation;
using AlignSharp.Tokenization;

namespace AlignSharp.Data;

/// <summary>A pair as token ids: the prompt (never scored; BOS first if the tokenizer has one) and the two completions (scored; EOS last unless truncated).</summary>
public sealed record TokenizedPair(int[] Prompt, int[] Chosen, int[] Rejected, PreferenceExample Example)
{
    /// <summary>The prompt was cut to max_prompt_length.</summary>
    public bool PromptTruncated { get; init; }

    /// <summary>A completion was cut to fit max_length (it then has no EOS).</summary>
    public bool CompletionTruncated { get; init; }

    /// <summary>
    /// Per chosen completion token, the index of the <see cref="Formats.CompletionPart"/> it belongs to (token-level
    /// record formats), or null for plain text.
    /// </summary>
    public int[]? ChosenParts { get; init; }

    /// <summary>Per rejected completion token, its part index, or null for plain text.</summary>
    public int[]? RejectedParts { get; init; }

    /// <summary>BMC's diff mask of the chosen completion tokens (1 = inserted or replaced), for `edit` records.</summary>
    public int[]? ChosenDiff { get; init; }

    /// <summary>BMC's diff mask of the rejected completion tokens (1 = deleted or replaced), for `edit` records.</summary>
    public int[]? RejectedDiff { get; init; }

    /// <summary>Sr-DPO's refinement prompt followed by the prompt (BOS first), for `refinement` records.</summary>
    public int[]? RefinedPrompt { get; init; }

    /// <summary>Tokens in the chosen row (prompt + chosen).</summary>
    public int ChosenLength => Prompt.Length + Chosen.Length;

    /// <summary>Tokens in the rejected row (prompt + rejected).</summary>
    public int RejectedLength => Prompt.Length + Rejected.Length;

    /// <summary>The longer row: the width this pair needs in a batch.</summary>
    public int Length => Math.Max(ChosenLength, RejectedLength);
}

/// <summary>An unpaired (KTO) example as token ids.</summary>
public sealed record TokenizedUnpaired(int[] Prompt, int[] Completion, UnpairedExample Example)
{
    /// <summary>The prompt was cut to max_prompt_length.</summary>
    public bool PromptTruncated { get; init; }

    /// <summary>The completion was cut to fit max_length.</summary>
    public bool CompletionTruncated { get; init; }
}

/// <summary>
/// A prompt with N scored, step-split responses as token ids (<see cref="Formats.TreeExample"/>): TPO's tree or
/// OREO's outcome-scored solution (N = 1). <see cref="StepIds"/> numbers each response token's step 1..K.
/// </summary>
public sealed record TokenizedTree(int[] Prompt, int[][] Responses, int[][] StepIds, Formats.TreeExample Example)
{
    /// <summary>The prompt was cut to max_prompt_length.</summary>
    public bool PromptTruncated { get; init; }

    /// <summary>A response was cut to fit max_length (it then has no EOS).</summary>
    public bool CompletionTruncated { get; init; }

    /// <summary>Number of responses N.</summary>
    public int Count => Responses.Length;

    /// <summary>Tokens of the longest row (prompt + response): the width this tree needs in a batch.</summary>
    public int Length => Prompt.Length + Responses.Max(r => r.Length);
}

/// <summary>Token lengths of one example before truncation: prompt with BOS, completions with EOS.</summary>
public readonly record struct RawLengths(int Prompt, int Chosen, int Rejected);

/// <summary>
/// Turns text pairs into ids: BOS exactly once before the prompt (not added again when the rendered prompt already
/// starts with it), EOS exactly once after each completion (not added when the text already ends with it, or with it
/// and only whitespace, as chat templates close a turn: the whitespace is dropped), then
/// truncation per <see cref="TokenizationOptions"/>. Prompt and completions are encoded separately, so no token spans
/// the boundary and the completion mask is exact.
/// </summary>
public sealed class PairTokenizer(ITokenizer tokenizer, TokenizationOptions options)
{
    /// <summary>
    /// Tokenizes with <paramref name="maxLength"/> and TRL's default proportions: a prompt longer than half of it keeps
    /// its last <c>maxLength / 2</c> tokens, so no pair is ever too long.
    /// </summary>
    public PairTokenizer(ITokenizer tokenizer, int maxLength) : this(tokenizer, TokenizationOptions.WithHalfPrompt(maxLength)) { }

    /// <summary>The limits applied.</summary>
    public TokenizationOptions Options => options;

    /// <summary>Tokenizes one pair; throws a <see cref="DataException"/> naming the record when it is too long even after truncation.</summary>
    public TokenizedPair Tokenize(PreferenceExample e) =>
        TryTokenize(e, out var problem) ?? throw new DataException(e.Source, $"{problem!.Issue.Name()}: {problem.Detail}");

    /// <summary>Tokenizes one pair, or returns null with the problem when it does not fit.</summary>
    public TokenizedPair? TryTokenize(PreferenceExample e, out RecordProblem? problem)
    {
        var prompt = EncodePrompt(e.Prompt);
        var chosen = EncodeCompletion(e.Chosen);
        var rejected = EncodeCompletion(e.Rejected);
        var cut = Truncation.Apply(prompt, [chosen, rejected], tokenizer.BosId is not null, options);
        if (cut is null)
        {
            problem = TooLong(e.Source, prompt.Length);
            return null;
        }
        int[]? refined = null;
        if (e.Annotations?.RefinementPrompt is { } refinement)
        {
            refined = EncodePrompt(RefinedText(refinement, e.Prompt));
            int longest = Math.Max(cut.Completions[0].Length, cut.Completions[1].Length);
            if (refined.Length + longest > options.MaxLength)
            {
                problem = new RecordProblem(e.Source, RecordIssue.TooLong,
                    $"refinement prompt + prompt has {refined.Length} tokens; with the longest completion "
                    + $"({longest}) it exceeds max_length {options.MaxLength}");
                return null;
            }
        }
        problem = null;
        return Annotate(new TokenizedPair(cut.Prompt, cut.Completions[0], cut.Completions[1], e)
        {
            PromptTruncated = cut.PromptTruncated, CompletionTruncated = cut.CompletionTruncated, RefinedPrompt = refined,
        }, chosen, rejected);
    }

    /// <summary>The second pass's query text: the refinement prompt p before the prompt x (p ⊕ x), one space
    /// between.</summary>
    public static string RefinedText(string refinement, string prompt) =>
        refinement.Length > 0 && !char.IsWhiteSpace(refinement[^1]) && prompt.Length > 0 && !char.IsWhiteSpace(prompt[0])
            ? refinement + " " + prompt : refinement + prompt;

    /// <summary>
    /// Adds the token-level structure of the record: each completion token's part (from the whole, untruncated
    /// encoding, cut like the completion) and, for `edit` records, BMC's diff masks of the kept tokens.
    /// </summary>
    private TokenizedPair Annotate(TokenizedPair t, int[] fullChosen, int[] fullRejected)
    {
        if (t.Example.Annotations is not { } a) return t;
        int[]? Parts(IReadOnlyList<Formats.CompletionPart>? parts, int[] full, int kept) =>
            parts is null ? null : Formats.TokenAlignment.PartOfTokens(tokenizer, full, parts)[..kept];
        t = t with
        {
            ChosenParts = Parts(a.Chosen, fullChosen, t.Chosen.Length),
            RejectedParts = Parts(a.Rejected, fullRejected, t.Rejected.Length),
        };
        if (!a.Edit) return t;
        var (dc, dr) = Formats.EditDiff.Masks(tokenizer, t.Chosen, t.Rejected);
        return t with { ChosenDiff = dc, RejectedDiff = dr };
    }

    /// <summary>Tokenizes an unpaired example, or returns null with the problem when it does not fit.</summary>
    public TokenizedUnpaired? TryTokenize(UnpairedExample e, out RecordProblem? problem)
    {
        var prompt = EncodePrompt(e.Prompt);
        var cut = Truncation.Apply(prompt, [EncodeCompletion(e.Completion)], tokenizer.BosId is not null, options);
        if (cut is null)
        {
            problem = TooLong(e.Source, prompt.Length);
            return null;
        }
        problem = null;
        return new TokenizedUnpaired(cut.Prompt, cut.Completions[0], e) { PromptTruncated = cut.PromptTruncated, CompletionTruncated = cut.CompletionTruncated };
    }

    /// <summary>
    /// Tokenizes a tree (or an outcome record): every response encoded whole (EOS last) and cut like a completion,
    /// each token numbered with its step 1..K (the step its text starts in); null with the problem when the prompt
    /// leaves no room.
    /// </summary>
    public TokenizedTree? TryTokenize(Formats.TreeExample e, out RecordProblem? problem)
    {
        var prompt = EncodePrompt(e.Prompt);
        var full = e.Steps.Select(s => EncodeCompletion(string.Concat(s))).ToArray();
        var cut = Truncation.Apply(prompt, full, tokenizer.BosId is not null, options);
        if (cut is null)
        {
            problem = TooLong(e.Source, prompt.Length);
            return null;
        }
        var steps = e.Steps.Select((s, n) =>
        {
            var parts = s.Select((text, k) => new Formats.CompletionPart(text, Formats.PartKind.Step, k)).ToList();
            return Formats.TokenAlignment.PartOfTokens(tokenizer, full[n], parts)[..cut.Completions[n].Length]
                .Select(k => k + 1).ToArray();
        }).ToArray();
        problem = null;
        return new TokenizedTree(cut.Prompt, cut.Completions, steps, e)
        {
            PromptTruncated = cut.PromptTruncated, CompletionTruncated = cut.CompletionTruncated,
        };
    }

    /// <summary>Tokenizes every tree; those too long are reported (or thrown under <see cref="BadRecordPolicy.Fail"/>).</summary>
    public List<TokenizedTree> TokenizeAll(IEnumerable<Formats.TreeExample> trees, DataReport report,
        BadRecordPolicy policy = BadRecordPolicy.Skip) =>
        TokenizeEach(trees, TryTokenize, t => (t.PromptTruncated, t.CompletionTruncated), report, policy);

    /// <summary>
    /// Tokenizes every pair; pairs too long even after truncation are reported (or, under <see cref="BadRecordPolicy.Fail"/>,
    /// thrown), truncations are counted in <paramref name="report"/>.
    /// </summary>
    public List<TokenizedPair> TokenizeAll(IEnumerable<PreferenceExample> examples, DataReport report, BadRecordPolicy policy = BadRecordPolicy.Skip) =>
        TokenizeEach(examples, TryTokenize, t => (t.PromptTruncated, t.CompletionTruncated), report, policy);

    private delegate T? TryTokenizer<in TRecord, T>(TRecord record, out RecordProblem? problem) where T : class;

    /// <summary>Tokenizes each record: kept ones count their truncations in <paramref name="report"/>; a record that
    /// cannot be tokenized is reported, or thrown under <see cref="BadRecordPolicy.Fail"/>.</summary>
    private static List<T> TokenizeEach<TRecord, T>(IEnumerable<TRecord> records, TryTokenizer<TRecord, T> tryTokenize,
        Func<T, (bool Prompt, bool Completion)> truncated, DataReport report, BadRecordPolicy policy) where T : class
    {
        var result = new List<T>();
        foreach (var e in records)
        {
            if (tryTokenize(e, out var problem) is { } t)
            {
                result.Add(t);
                var (prompt, completion) = truncated(t);
                if (prompt) report.PromptTruncated++;
                if (completion) report.CompletionTruncated++;
            }
            else if (policy == BadRecordPolicy.Fail) throw new DataException(problem!.Where, $"{problem.Issue.Name()}: {problem.Detail}");
            else report.Add(problem!);
        }
        return result;
    }

    /// <summary>Token lengths before truncation (prompt with BOS, completions with EOS), for length statistics.</summary>
    public RawLengths Measure(PreferenceExample e) => new(EncodePrompt(e.Prompt).Length, EncodeCompletion(e.Chosen).Length, EncodeCompletion(e.Rejected).Length);

    private RecordProblem TooLong(SourceLocation where, int promptLength) => new(where, RecordIssue.TooLong,
        $"prompt has {promptLength} tokens; with max_length {options.MaxLength} and max_prompt_length {options.MaxPromptLength?.ToString() ?? "unset"} no completion token fits");

    private int[] EncodePrompt(string text)
    {
        var ids = tokenizer.Encode(text);
        if (tokenizer.BosId is { } bos && (ids.Count == 0 || ids[0] != bos)) return [bos, .. ids];
        return [.. ids];
    }

    private int[] EncodeCompletion(string text)
    {
        var ids = tokenizer.Encode(text);
        if (tokenizer.EosId is not { } eos) return [.. ids];
        // A chat template may close the turn with EOS and a newline ("...<|im_end|>\n"): end at that EOS rather than add a second.
        int last = -1;
        for (int i = ids.Count - 1; i >= 0; i--)
            if (ids[i] == eos) { last = i; break; }
        if (last >= 0 && (last == ids.Count - 1 || string.IsNullOrWhiteSpace(tokenizer.Decode(ids.Skip(last + 1)))))
            return [.. ids.Take(last + 1)];
        return [.. ids, eos];
    }
}

/// <summary>What the truncation rule does to one example: which parts it cuts, or that it cannot fit it.</summary>
public readonly record struct TruncationOutcome(bool PromptCut, bool CompletionCut, bool TooLong)
{
    /// <summary>Nothing cut, nothing dropped.</summary>
    public bool Untouched => !PromptCut && !CompletionCut && !TooLong;
}

/// <summary>The truncation rule of <see cref="TokenizationOptions"/>, on ids.</summary>
public static class Truncation
{
    /// <summary>What <see cref="Apply"/> would do to an example of these lengths (it depends on nothing else).</summary>
    public static TruncationOutcome Outcome(RawLengths lengths, bool hasBos, TokenizationOptions o)
    {
        int prompt = lengths.Prompt, longest = Math.Max(lengths.Chosen, lengths.Rejected);
        if (prompt + longest <= o.MaxLength) return default;
        bool promptCut = false;
        if (o.MaxPromptLength is { } maxPrompt && prompt > maxPrompt)
        {
            int head = hasBos && prompt > 0 ? 1 : 0;
            prompt = head + Math.Max(0, maxPrompt - head);
            promptCut = true;
        }
        int room = o.MaxLength - prompt;
        return room < 1 ? new TruncationOutcome(false, false, true) : new TruncationOutcome(promptCut, longest > room, false);
    }

    /// <summary>Result of truncating one example.</summary>
    public sealed record Result(int[] Prompt, int[][] Completions, bool PromptTruncated, bool CompletionTruncated);

    /// <summary>
    /// Applies the rule to a prompt (starting with BOS when <paramref name="hasBos"/>) and its completions; null when the
    /// (truncated) prompt leaves no room for a completion token.
    /// </summary>
    public static Result? Apply(int[] prompt, int[][] completions, bool hasBos, TokenizationOptions o)
    {
        int longest = completions.Max(c => c.Length);
        if (prompt.Length + longest <= o.MaxLength) return new Result(prompt, completions, false, false);
        bool promptCut = false;
        if (o.MaxPromptLength is { } maxPrompt && prompt.Length > maxPrompt)
        {
            int head = hasBos && prompt.Length > 0 ? 1 : 0; // BOS stays first whatever end is kept
            int keep = Math.Max(0, maxPrompt - head);
            var body = prompt.AsSpan(head);
            var kept = o.PromptTruncation == TruncationMode.KeepStart ? body[..keep] : body[^keep..];
            prompt = [.. prompt.AsSpan(0, head), .. kept];
            promptCut = true;
        }
        int room = o.MaxLength - prompt.Length;
        if (room < 1) return null;
        bool completionCut = completions.Any(c => c.Length > room);
        return new Result(prompt, completions.Select(c => c.Length > room ? c[..room] : c).ToArray(), promptCut, completionCut);
    }
}
