using AlignSharp.Data.Batching;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Validation;
using AlignSharp.Tokenization;

namespace AlignSharp.Data.Inspection;

/// <summary>Percentiles of a token-length distribution.</summary>
public sealed record LengthStats(int Count, int Min, int P50, int P90, int P95, int P99, int Max, double Mean)
{
    /// <summary>Nearest-rank percentiles of <paramref name="values"/>.</summary>
    public static LengthStats Of(IReadOnlyList<int> values)
    {
        if (values.Count == 0) return new LengthStats(0, 0, 0, 0, 0, 0, 0, 0);
        var sorted = values.Order().ToArray();
        int P(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new LengthStats(sorted.Length, sorted[0], P(0.5), P(0.9), P(0.95), P(0.99), sorted[^1], sorted.Average());
    }
}

/// <summary>How many examples one truncation setting would leave alone, cut (prompt, completion: an example may count in both) or drop.</summary>
public sealed record TruncationRow(TokenizationOptions Options, int Untouched, int PromptCut, int CompletionCut, int TooLong);

/// <summary>
/// What <c>alignsharp data inspect</c> reports: the load report (counts per reason, examples), token-length
/// percentiles before truncation, what each of several truncation settings would do, the train/eval split, and the
/// padding of bucketed versus random batches under the chosen settings.
/// </summary>
public sealed record DataInspection(
    LoadedData Data, DataReport Report, IReadOnlyList<TokenizedPair> Pairs,
    LengthStats Prompt, LengthStats Chosen, LengthStats Rejected, LengthStats Pair,
    IReadOnlyList<TruncationRow> Truncation, int TrainCount, int EvalCount, PaddingStats? Bucketed, PaddingStats? Random)
{
    /// <summary>Inspects <paramref name="spec"/> under the given settings (never throws for bad records: it reports them).</summary>
    public static DataInspection Run(string spec, DataOptions data, ITokenizer tokenizer, TokenizationOptions tokenization,
        int batchSize = 8, int seed = 0, double evalFraction = 0)
    {
        var loaded = PreferenceDataLoader.Load(spec, data);
        var pt = new PairTokenizer(tokenizer, tokenization);
        bool hasBos = tokenizer.BosId is not null;
        // Unpaired examples are measured as prompt + completion (both columns the same).
        var examples = loaded.Format == DataFormat.Unpaired
            ? loaded.Unpaired.Select(u => new PreferenceExample(u.Prompt, u.Completion, u.Completion, u.Source)).ToList()
            : loaded.Format is DataFormat.Tree or DataFormat.Outcome // measured as best vs lowest-scored response
                ? loaded.Trees.Select(t => new PreferenceExample(t.Prompt, t.Text(0), t.Text(t.Count - 1), t.Source)).ToList()
                : loaded.Pairs.ToList();
        var lengths = examples.Select(pt.Measure).ToList();
        var pairs = pt.TokenizeAll(examples, loaded.Report, BadRecordPolicy.Skip);

        var settings = new List<TokenizationOptions> { tokenization };
        foreach (var max in new[] { 256, 512, 1024, 2048 })
            foreach (var opt in new[] { new TokenizationOptions(max, null, tokenization.PromptTruncation), TokenizationOptions.WithHalfPrompt(max) with { PromptTruncation = tokenization.PromptTruncation } })
                if (!settings.Contains(opt)) settings.Add(opt);
        var rows = settings.Select(o =>
        {
            var outcomes = lengths.Select(l => global::AlignSharp.Data.Truncation.Outcome(l, hasBos, o)).ToList();
            return new TruncationRow(o, outcomes.Count(x => x.Untouched), outcomes.Count(x => x.PromptCut), outcomes.Count(x => x.CompletionCut), outcomes.Count(x => x.TooLong));
        }).ToList();

        var (train, eval) = DataSplit.TrainEval(pairs, p => p.Example.Source, evalFraction, seed);
        PaddingStats? bucketed = null, random = null;
        if (pairs.Count > 0 && loaded.Format != DataFormat.Unpaired)
        {
            bucketed = PaddingStats.Measure(PreferenceBatches.Planner(pairs, batchSize, seed, BatchOrder.Bucketed).Epoch(0), pairs);
            random = PaddingStats.Measure(PreferenceBatches.Planner(pairs, batchSize, seed, BatchOrder.Random).Epoch(0), pairs);
        }
        return new DataInspection(loaded, loaded.Report, pairs,
            LengthStats.Of(lengths.Select(l => l.Prompt).ToList()), LengthStats.Of(lengths.Select(l => l.Chosen).ToList()),
            LengthStats.Of(lengths.Select(l => l.Rejected).ToList()), LengthStats.Of(lengths.Select(l => l.Prompt + Math.Max(l.Chosen, l.Rejected)).ToList()),
            rows, train.Count, eval.Count, bucketed, random);
    }
}
