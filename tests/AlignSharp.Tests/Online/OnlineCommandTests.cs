using AlignSharp.Tests.Cli;
using AlignSharp.Cli;
using AlignSharp.Online;

namespace AlignSharp.Tests.Online;

[Collection("Console")]
public sealed class OnlineCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void Online_runs_a_preset_and_prints_one_row_per_iteration()
    {
        string root = OnlineFixtures.TempDir();
        try
        {
            var (code, output, err) = Run("online", "--config",
                Path.Combine(TestSetup.RepoRoot, "examples", "online", "iterative_dpo.yaml"),
                "--set", $"model.path={OnlineFixtures.Base(OnlineTask.Review)}",
                "--set", "online.base.pretrain_steps=0", "--set", "online.iterations=2",
                "--set", "online.prompts_per_iteration=3", "--set", "training.threads=1",
                "--set", "online.sample.max_new_tokens=8", "--set", $"output_dir={root}");
            Assert.True(code == 0, err);
            Assert.Contains("iteration  pairs  invalid  steps  tok/s  task reward", output);
            Assert.Equal(2, output.Split('\n').Select(l => l.TrimStart())
                .Count(l => l.StartsWith("1 ") || l.StartsWith("2 ")));
            Assert.True(Directory.Exists(Path.Combine(root, "iteration-0002")));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void A_bad_online_key_or_value_is_one_line_naming_the_file_line_and_key()
    {
        string dir = OnlineFixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "bad.yaml");
            File.WriteAllText(path, "online:\n  iterations: 2\n  pair: {strategy: best_vs_wrost}\n");
            var (code, _, err) = Run("online", "--config", path);
            Assert.Equal(1, code);
            Assert.Contains($"{path}:3", err);
            Assert.Contains("'online.pair.strategy' must be one of best_vs_worst, random, all_pairs", err);
            Assert.Single(err.Trim().Split('\n'));

            File.WriteAllText(path, "online:\n  iterations: 2\n  sample: {n: 1}\n");
            (code, _, err) = Run("online", "--config", path);
            Assert.Equal(1, code);
            Assert.Contains("online.sample.n must be >= 2", err);
            (code, _, err) = Run("online", "--config", path, "--set", "online.sampel.n=3");
            Assert.Equal(1, code);
            Assert.Contains("unknown key 'online.sampel' (did you mean 'sample'?)", err);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
