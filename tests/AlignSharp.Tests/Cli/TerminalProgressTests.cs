using System.Diagnostics;
using System.Text.RegularExpressions;
using AlignSharp.Cli;

namespace AlignSharp.Tests.Cli;

/// <summary>
/// The live progress display in a real pseudo terminal (util-linux <c>script</c> allocates one; <c>stty</c> sets its
/// width): at every width no rendered line is wider than the terminal (the bar never wraps), and every logging step's
/// metrics line is printed in full above the bar, so it stays in the scrollback.
/// </summary>
public sealed partial class TerminalProgressTests
{
    [Theory]
    [InlineData(60)]
    [InlineData(80)]
    [InlineData(200)]
    public async Task Progress_fits_the_terminal_and_keeps_log_lines(int columns)
    {
        string dir = Directory.CreateTempSubdirectory("alignsharp-pty-").FullName;
        try
        {
            string cli = Path.Combine(AppContext.BaseDirectory, "AlignSharp.Cli.dll");
            string config = Path.Combine(TestSetup.RepoRoot, "examples", "dpo-tiny.yaml");
            string command = $"stty cols {columns} rows 40; cd '{TestSetup.RepoRoot}' && dotnet '{cli}' train " +
                $"--config '{config}' --set output_dir='{Path.Combine(dir, "run")}' --set training.max_steps=6 " +
                "--set training.logging_steps=2 --set training.eval_steps=6";
            var psi = new ProcessStartInfo("script", ["-q", "-e", "-c", command, "/dev/null"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            };
            psi.Environment.Remove("NO_COLOR");
            psi.Environment["TERM"] = "xterm-256color";
            using var process = Process.Start(psi)!;
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            string screen;
            try
            {
                screen = await process.StandardOutput.ReadToEndAsync(timeout.Token);
                await process.WaitForExitAsync(timeout.Token);
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {screen}");

            // What the terminal shows: escape sequences removed, split where the cursor returns or moves down.
            var segments = Escapes().Replace(screen, "").Split('\r', '\n');
            var tooWide = segments.Where(s => s.Length > columns).ToList();
            Assert.True(tooWide.Count == 0, $"{tooWide.Count} lines wider than {columns} columns, e.g. '{tooWide.FirstOrDefault()}'");
            Assert.Contains(segments, s => s.StartsWith("training ", StringComparison.Ordinal) && s.Contains('%'));
            string text = string.Join(" ", segments);
            foreach (int step in new[] { 2, 4, 6 })
                Assert.Matches($@"step {step}/6 loss=[0-9.]+ ", text);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Narrow_layouts_drop_columns_before_they_wrap()
    {
        foreach (int width in new[] { 40, 60, 80, 100, 200 })
        {
            var layout = ConsoleProgress.BarLayout.For(width);
            Assert.True(layout.DescriptionWidth >= 8, $"{width}: description width {layout.DescriptionWidth}");
            Assert.True(layout.Fit(new string('x', 500)).Length <= layout.DescriptionWidth);
        }
        Assert.False(ConsoleProgress.BarLayout.For(40).Bar);
        Assert.True(ConsoleProgress.BarLayout.For(200).Remaining);
        Assert.False(ConsoleProgress.BarLayout.For(80).Remaining);
    }

    [Fact]
    public void Wrap_breaks_at_spaces_and_inside_long_words()
    {
        var lines = ConsoleProgress.Wrap("alpha beta " + new string('p', 25) + " gamma", 10).ToList();
        Assert.All(lines, l => Assert.True(l.Length <= 10, l));
        Assert.Equal("alpha beta " + new string('p', 25) + " gamma", string.Join(" ", lines).Replace(
            "pppppppppp pppppppppp ppppp", new string('p', 25)));
    }

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07")]
    private static partial Regex Escapes();
}
