namespace AlignSharp.Tests.Cli;

/// <summary>
/// Every command that writes files learns that it cannot before it does any work, and says so in one line (exit 1, no
/// stack trace): for a folder under /proc (which refuses new entries even to root, as these tests run) and for a file
/// standing where a folder should be.
/// </summary>
[Collection("Console")]
public sealed class OutputFolderErrorTests
{
    private static string Example(params string[] parts) => Path.Combine([TestSetup.RepoRoot, "examples", .. parts]);

    /// <summary>The command line writing into <paramref name="target"/> (a folder to create).</summary>
    private static string[] Command(string name, string target) => name switch
    {
        "train" => ["train", "--config", Example("dpo-tiny.yaml"), "--set", $"output_dir={target}"],
        "quickstart" => ["quickstart", "--output", target],
        "experiment frontier" => ["experiment", "frontier", "--preset", "test", "--out", target],
        "experiment online" => ["experiment", "online", "--preset", "test", "--out", target],
        "experiment rewards" => ["experiment", "rewards", "--preset", "test", "--out", target],
        "reward train" => ["reward", "train", "--config", Example("reward-tiny.yaml"), "--set", $"output_dir={target}"],
        "reward score" => ["reward", "score", "--model", Example("nope"), "--data", Example("tiny-pairs.jsonl"),
            "--output", Path.Combine(target, "scores.jsonl")],
        "online" => ["online", "--config", Example("online", "iterative_dpo.yaml"), "--set", $"output_dir={target}"],
        "adapters merge" => ["adapters", "merge", "--base", Example("nope"), "--adapter", Example("nope"), "--out",
            Path.Combine(target, "merged")],
        "config docs" => ["config", "docs", "--output", Path.Combine(target, "config.md")],
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static TheoryData<string> Commands() =>
    [
        "train", "quickstart", "experiment frontier", "experiment online", "experiment rewards",
        "reward train", "reward score", "online",
        "adapters merge", "config docs",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_folder_that_cannot_be_written_is_one_line_before_any_work(string name)
    {
        string file = Path.Combine(TestTemp.Dir("blocked"), "a-file");
        File.WriteAllText(file, "");
        foreach (var target in new[] { $"/proc/alignsharp-test-{Guid.NewGuid():N}/out", Path.Combine(file, "out") })
        {
            var (code, stdout, err) = CliConsole.Run(Command(name, target));
            Assert.True(code == 1, $"{name} into {target}: exit {code}\n{stdout}\n{err}");
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, $"{name} into {target}:\n{err}");
            Assert.StartsWith("error: ", lines[0]);
            Assert.Contains("not writable", lines[0]);
            Assert.DoesNotContain("   at ", err);
            // Nothing was trained, sampled or evaluated before the refusal.
            Assert.DoesNotContain("step ", stdout);
            Assert.DoesNotContain("loss", stdout);
        }
    }
}
