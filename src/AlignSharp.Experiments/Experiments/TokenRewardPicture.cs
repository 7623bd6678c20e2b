using System.Globalization;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Objectives.TokenLevel;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using ScottPlot;
using TorchSharp;

namespace AlignSharp.Experiments;

/// <summary>One completion read token by token: its label, its tokens as text, and each token's implicit reward.</summary>
public sealed record TokenRewardRow(string Label, IReadOnlyList<string> Tokens, IReadOnlyList<double> Rewards);

/// <summary>
/// The catalog's <c>token_rewards</c> output (<see cref="TokenRewards"/>, "From r to Q*") for one completion of a
/// trained policy against its reference, and a picture of several such rows: each token a cell coloured by its
/// implicit reward β (log π − log π_ref), red below 0, blue above, white at 0.
/// </summary>
public static class TokenRewardPicture
{
    /// <summary>Per-token rewards of <paramref name="completion"/> after <paramref name="prompt"/>.</summary>
    public static TokenRewardRow Compute(string label, CausalLM policy, CausalLM reference, ITokenizer tokenizer,
        string prompt, string completion, double beta)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var ids = tokenizer.Encode(completion).ToArray();
        var device = policy.parameters().First().device;
        var rows = RowCollator.RightPad([(PolicySamples.EncodePrompt(tokenizer, prompt), ids)], padId: 0, device);
        RowLogProbs PerToken(CausalLM model) => SequenceLogProbs.Compute(model, rows.InputIds, rows.AttentionMask,
            rows.PositionIds, rows.CompletionMask, perToken: true);
        var lp = PerToken(policy);
        var lr = PerToken(reference);
        var rewards = TokenRewards.Compute(lp.Tokens!, lr.Tokens!, lp.TokenMask!, beta).TokenRewards; // (1, Tc)
        var values = rewards.to(torch.ScalarType.Float64).cpu().data<double>().ToArray();
        return new TokenRewardRow(label, [.. ids.Select(id => tokenizer.Decode([id], skipSpecialTokens: true))],
            values);
    }

    /// <summary>Writes the rows as a PNG (atomically): one row of coloured token cells per completion.</summary>
    public static void Write(string path, string title, IReadOnlyList<TokenRewardRow> rows)
    {
        var plot = new Plot();
        double scale = Math.Max(1e-9, rows.SelectMany(r => r.Rewards).Select(Math.Abs).DefaultIfEmpty(0).Max());
        for (int i = 0; i < rows.Count; i++)
        {
            double y = -i;
            var label = plot.Add.Text(rows[i].Label, -0.5, y);
            label.LabelAlignment = Alignment.MiddleRight;
            label.LabelFontSize = 13;
            for (int t = 0; t < rows[i].Tokens.Count; t++)
            {
                double v = rows[i].Rewards[t] / scale; // in [-1, 1]
                var cell = plot.Add.Rectangle(t, t + 1, y - 0.4, y + 0.4);
                cell.FillColor = Colors.White.MixedWith(v < 0 ? Colors.Red : Colors.Blue, Math.Abs(v));
                cell.LineColor = Colors.LightGray;
                var text = plot.Add.Text(rows[i].Tokens[t] == " " ? "␣" : rows[i].Tokens[t], t + 0.5, y);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 14;
                text.LabelFontName = "DejaVu Sans Mono";
            }
        }
        int width = rows.Max(r => r.Tokens.Count);
        plot.Axes.SetLimits(-16, width + 0.5, -rows.Count + 0.4, 0.6);
        plot.HideAxesAndGrid();
        plot.Title(title + string.Create(CultureInfo.InvariantCulture,
            $"; colour: β(log π − log π_ref) per token, full red/blue at ∓{scale:0.00}"), size: 13);
        AtomicFile.Write(path, p => plot.SavePng(p, 1400, 90 + 60 * rows.Count));
    }
}
