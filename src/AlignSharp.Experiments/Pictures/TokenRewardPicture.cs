using System.Globalization;
using AlignSharp.IO;
using ScottPlot;

namespace AlignSharp.Experiments.Pictures;

/// <summary>
/// A response drawn token by token, each token's cell coloured by its implicit reward r[t] = β (lp − lr)
/// (<c>token_rewards</c>): blue for positive (the policy raised the token over the reference), red for negative, white
/// for 0, the colour's strength scaled by the largest |r| of the response. Tokens flow left to right and wrap like text.
/// </summary>
public static class TokenRewardPicture
{
    private const int Width = 1000, CharsPerLine = 48;

    /// <summary>Writes the PNG atomically to <paramref name="path"/>.</summary>
    /// <param name="path">The PNG to write.</param>
    /// <param name="tokens">Each token's text as it reads.</param>
    /// <param name="rewards">r[t] for each token.</param>
    /// <param name="title">The picture's title.</param>
    public static void Write(string path, IReadOnlyList<string> tokens, IReadOnlyList<double> rewards, string title)
    {
        if (tokens.Count != rewards.Count)
            throw new ArgumentException($"{tokens.Count} tokens but {rewards.Count} rewards", nameof(rewards));
        var plot = new Plot();
        double scale = rewards.Count == 0 ? 1 : Math.Max(1e-12, rewards.Max(Math.Abs));
        double x = 0, y = 0;
        foreach (var (text, reward) in tokens.Zip(rewards))
        {
            string shown = Shown(text);
            double w = Math.Max(1, shown.Length);
            if (x > 0 && x + w > CharsPerLine) (x, y) = (0, y - 1.4);
            var cell = plot.Add.Rectangle(x, x + w, y, y + 1);
            cell.FillStyle.Color = Shade(reward / scale);
            cell.LineStyle.Color = Colors.Gray;
            cell.LineStyle.Width = 0.5f;
            var label = plot.Add.Text(shown, x + w / 2, y + 0.5);
            label.LabelFontSize = 15;
            label.LabelFontName = Fonts.Monospace;
            label.LabelAlignment = Alignment.MiddleCenter;
            x += w;
        }
        int lines = (int)Math.Round(-y / 1.4) + 1;
        plot.Axes.SetLimits(-0.5, CharsPerLine + 0.5, y - 0.4, 1.4);
        plot.HideAxesAndGrid();
        plot.Title(title + string.Create(CultureInfo.InvariantCulture,
            $"\nblue > 0 > red; full colour = max |r| = {scale:0.###}"), 14);
        AtomicFile.Write(path, p => plot.SavePng(p, Width, 120 + 46 * lines));
    }

    /// <summary>Whitespace made visible: a space as '·', a newline as '⏎'.</summary>
    private static string Shown(string token) => token.Replace(" ", "·").Replace("\n", "⏎").Replace("\t", "→");

    /// <summary>White at 0, toward blue (v = 1) or red (v = −1).</summary>
    private static Color Shade(double v)
    {
        v = Math.Clamp(v, -1, 1);
        byte Fade(double target) => (byte)Math.Round(255 + (target - 255) * Math.Abs(v));
        return v >= 0 ? new Color(Fade(40), Fade(110), Fade(220)) : new Color(Fade(220), Fade(50), Fade(40));
    }
}
