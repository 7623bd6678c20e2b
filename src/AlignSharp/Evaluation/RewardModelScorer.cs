using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using static TorchSharp.torch;

namespace AlignSharp.Evaluation;

/// <summary>
/// Scores (prompt, completion) texts with a reward model, tokenized exactly as reward training tokenizes a pair's
/// rows (<see cref="PairTokenizer"/>: BOS once, the prompt, the completion, EOS once; TRL's truncation at
/// <see cref="TokenizationOptions.MaxLength"/>). Rows are right-padded with the model's pad id in batches, without
/// gradient. As an <see cref="IRewardFunction"/> it is the learned reward PPO and RLOO optimise.
/// </summary>
public sealed class RewardModelScorer(RewardModel model, ITokenizer tokenizer, TokenizationOptions options,
    int batchSize = 16) : IRewardFunction
{
    private readonly PairTokenizer pairs = new(tokenizer, options);

    /// <summary>The model's pad id (the batch padding), or 0 when it has none (then rows are scored one at a time).</summary>
    private int Pad => model.PadTokenId ?? 0;

    /// <inheritdoc />
    public double Score(string prompt, string completion) => Score([(prompt, completion)])[0];

    /// <summary>
    /// One reward per (prompt, completion). A record that cannot be tokenized (a prompt too long for any completion
    /// token) is an error naming <paramref name="source"/> and its line (<paramref name="lines"/>, else its 1-based
    /// position).
    /// </summary>
    public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Completion)> texts, string source = "input",
        IReadOnlyList<long>? lines = null)
    {
        var rows = new List<(int[] Prompt, int[] Completion)>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            var (p, c) = texts[i];
            var where = new SourceLocation(source, lines?[i] ?? i + 1);
            var t = pairs.TryTokenize(new PreferenceExample(p, c, c, where), out var problem)
                ?? throw new DataException(where, problem!.Detail);
            rows.Add((t.Prompt, t.Chosen));
        }
        return ScoreIds(rows);
    }

    /// <summary>Rewards of already tokenized rows (prompt ids with BOS, completion ids with EOS).</summary>
    public IReadOnlyList<double> ScoreIds(IReadOnlyList<(int[] Prompt, int[] Completion)> rows)
    {
        var result = new List<double>(rows.Count);
        var device = model.Backbone.parameters().First().device;
        int size = model.PadTokenId is null ? 1 : Math.Max(1, batchSize);
        using var _ = no_grad();
        bool wasTraining = model.Backbone.training;
        model.Train(false);
        try
        {
            foreach (var chunk in rows.Chunk(size))
            {
                using var scope = NewDisposeScope();
                var padded = RowCollator.RightPad(chunk, Pad, device);
                var rewards = model.Rewards(padded.InputIds, padded.AttentionMask).to(ScalarType.Float64).cpu();
                result.AddRange(rewards.data<double>().ToArray());
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return result;
    }
}
