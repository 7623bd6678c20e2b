using System.CommandLine;
using AlignSharp.Experiments;
using AlignSharp.Runs;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp experiment online ...</c>, <c>experiment reasoning ...</c> and <c>alignsharp experiment frontier [--quick | --preset test|quick|full] [--out DIR] [--seed N] [--threads N] [--steps N] [--lr X] [--betas a,b] [--methods a,b] [--kl-coefs a,b] [--rl-steps N] [--rl-lr X]</c>.</summary>
internal sealed class ExperimentCommand : ICliCommand
{
    public Command Build()
    {
        var preset = new Option<string>("--preset") { Description = "test (seconds), quick (< 25 min on 2 cores) or full", DefaultValueFactory = _ => "quick" };
        var quick = new Option<bool>("--quick") { Description = "same as --preset quick" };
        var output = new Option<string>("--out", "-o") { Description = "output folder for frontier.png/.md/.csv/.jsonl", DefaultValueFactory = _ => "frontier-out" };
        var seed = new Option<int?>("--seed") { Description = "seed of the whole experiment (default: the preset's)" };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default 1; 0 keeps libtorch's default)" };
        var steps = new Option<int?>("--steps") { Description = "optimizer steps per run (default: the preset's)" };
        var lr = new Option<double?>("--lr") { Description = "preference-training learning rate (default: the preset's)" };
        var betas = new Option<string?>("--betas") { Description = "comma-separated β values replacing every method's grid" };
        var methods = new Option<string?>("--methods") { Description = "comma-separated objective ids and RL baselines (ppo, ppo_gt, rloo) to keep from the preset (default: all)" };
        var klCoefs = new Option<string?>("--kl-coefs") { Description = "comma-separated kl_coef values replacing every RL baseline's grid" };
        var rlSteps = new Option<int?>("--rl-steps") { Description = "sampling rounds per RL run (default: the preset's)" };
        var rlLr = new Option<double?>("--rl-lr") { Description = "RL learning rate (default: the preset's)" };
        var frontier = new Command("frontier", "Reproduce the DPO paper's controlled experiment: ground-truth reward vs KL for each objective at several betas, Preferred-FT, Unlikelihood, PPO (learned reward model), PPO-GT, RLOO and best-of-N.")
        {
            preset, quick, output, seed, threads, steps, lr, betas, methods, klCoefs, rlSteps, rlLr,
        };
        frontier.SetAction(r =>
        {
            var o = FrontierOptions.ForPreset(r.GetValue(quick) ? "quick" : r.GetValue(preset)!);
            if (r.GetValue(seed) is { } s) o = o with { Seed = s };
            if (r.GetValue(threads) is { } t) o = o with { Threads = t };
            if (r.GetValue(steps) is { } n) o = o with { Steps = n, EvalEvery = Math.Max(1, n / 4) };
            if (r.GetValue(lr) is { } rate) o = o with { LearningRate = rate };
            if (r.GetValue(rlSteps) is { } rounds) o = o with { RlSteps = rounds, RlEvalEvery = Math.Max(1, rounds / 4) };
            if (r.GetValue(rlLr) is { } rlRate) o = o with { RlLearningRate = rlRate };
            if (r.GetValue(methods) is { Length: > 0 } keep)
            {
                var ids = keep.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var known = o.Methods.Select(m => m.Id).Concat(o.RlMethods.Select(m => m.Id)).ToList();
                var unknown = ids.FirstOrDefault(id => !known.Contains(id));
                if (unknown is not null)
                    throw new ExperimentException($"--methods: '{unknown}' is not in the {o.Preset} preset (it has: {string.Join(", ", known)})");
                o = o with
                {
                    Methods = o.Methods.Where(m => ids.Contains(m.Id)).ToList(),
                    RlMethods = o.RlMethods.Where(m => ids.Contains(m.Id)).ToList(),
                };
            }
            if (r.GetValue(betas) is { Length: > 0 } grid)
            {
                var values = Numbers("--betas", grid);
                o = o with { Methods = o.Methods.Select(m => m.Knob == "beta" ? m with { Betas = values } : m).ToList() };
            }
            if (r.GetValue(klCoefs) is { Length: > 0 } coefs)
            {
                var values = Numbers("--kl-coefs", coefs);
                o = o with { RlMethods = o.RlMethods.Select(m => m with { KlCoefs = values }).ToList() };
            }
            RunCheck.Writable(r.GetValue(output)!, $"--out {r.GetValue(output)}", "output folder"); // before any work
            var result = FrontierExperiment.Run(o, r.GetValue(output)!, line => Console.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine(File.ReadAllText(result.Files.Markdown));
            return 0;
        });
        return new Command("experiment", "Controlled experiments on the project's synthetic tasks (reviews, arithmetic).")
        {
            frontier, Online(), Reasoning(), Rewards(),
        };
    }

    private static List<double> Numbers(string option, string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var x)
                ? x : throw new ExperimentException($"{option}: '{v}' is not a number")).ToList();

    /// <summary><c>experiment reasoning [--quick | --preset test|quick] [--out DIR] [--seed N] [--seeds N] [--threads N] [--steps N] [--lr X] [--beta X] [--pretrain-steps N] [--methods a,b]</c>.</summary>
    private static Command Reasoning()
    {
        var preset = new Option<string>("--preset") { Description = "test (seconds) or quick (< 15 min on 2 cores)", DefaultValueFactory = _ => "quick" };
        var quick = new Option<bool>("--quick") { Description = "same as --preset quick" };
        var output = new Option<string>("--out", "-o") { Description = "output folder for reasoning.png/.md/.json", DefaultValueFactory = _ => "reasoning-out" };
        var seed = new Option<int?>("--seed") { Description = "seed of the whole experiment (default: the preset's)" };
        var seeds = new Option<int?>("--seeds") { Description = "replicates (training problems, samples, pairs, batch order) per method" };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default 1; 0 keeps libtorch's default)" };
        var steps = new Option<int?>("--steps") { Description = "optimizer steps per run (default: the preset's)" };
        var lr = new Option<double?>("--lr") { Description = "preference-training learning rate (default: the preset's)" };
        var beta = new Option<double?>("--beta") { Description = "β of every method (default: the preset's)" };
        var pretrain = new Option<int?>("--pretrain-steps") { Description = "SFT steps of the base model (default: the preset's)" };
        var methods = new Option<string?>("--methods")
        {
            Description = "comma-separated methods to keep: " + string.Join(", ", ReasoningOptions.AllMethods),
        };
        var reasoning = new Command("reasoning", "Whole-solution DPO vs Step-DPO vs SCDPO on verifiable arithmetic word problems: final-answer and per-step accuracy of held-out solutions.")
        {
            preset, quick, output, seed, seeds, threads, steps, lr, beta, pretrain, methods,
        };
        reasoning.SetAction(r =>
        {
            var o = ReasoningOptions.ForPreset(r.GetValue(quick) ? "quick" : r.GetValue(preset)!);
            if (r.GetValue(seed) is { } s) o = o with { Seed = s };
            if (r.GetValue(seeds) is { } n) o = o with { Seeds = n };
            if (r.GetValue(threads) is { } t) o = o with { Threads = t };
            if (r.GetValue(steps) is { } k) o = o with { Steps = k };
            if (r.GetValue(lr) is { } rate) o = o with { LearningRate = rate };
            if (r.GetValue(beta) is { } b) o = o with { Beta = b };
            if (r.GetValue(pretrain) is { } sft) o = o with { PretrainSteps = sft };
            if (r.GetValue(methods) is { Length: > 0 } keep)
                o = o with { Methods = keep.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
            var result = ReasoningExperiment.Run(o, r.GetValue(output)!, line => Console.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine(File.ReadAllText(result.Files.Markdown));
            return 0;
        });
        return reasoning;
    }

    /// <summary>
    /// <c>experiment rewards [--quick | --preset test|quick] [--out DIR] [--seed N] [--threads N] [--steps N] [--lr X]
    /// [--rm-lr X] [--betas a,b] [--train-pairs N]</c>.
    /// </summary>
    private static Command Rewards()
    {
        var preset = new Option<string>("--preset") { Description = "test (seconds) or quick (minutes)", DefaultValueFactory = _ => "quick" };
        var quick = new Option<bool>("--quick") { Description = "same as --preset quick" };
        var output = new Option<string>("--out", "-o")
        {
            Description = "output folder for rewards.md/.json (a frontier folder's base model is reused)",
            DefaultValueFactory = _ => "rewards-out",
        };
        var seed = new Option<int?>("--seed") { Description = "seed of the whole experiment (default: the preset's)" };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default 1; 0 keeps libtorch's default)" };
        var steps = new Option<int?>("--steps") { Description = "optimizer steps of DPO and of the reward model (default: the preset's)" };
        var lr = new Option<double?>("--lr") { Description = "DPO's learning rate (default: the preset's)" };
        var rmLr = new Option<double?>("--rm-lr") { Description = "the reward model's learning rate (default: the preset's)" };
        var betas = new Option<string?>("--betas") { Description = "comma-separated DPO β values, one DPO run each" };
        var trainPairs = new Option<int?>("--train-pairs") { Description = "training pairs (default: the preset's)" };
        var rewards = new Command("rewards", "DPORM vs EXRM: DPO's implicit reward and a reward model trained on the same pairs, preference accuracy against the ground truth in distribution and under prompt and wording shifts.")
        {
            preset, quick, output, seed, threads, steps, lr, rmLr, betas, trainPairs,
        };
        rewards.SetAction(r =>
        {
            var o = RewardGeneralizationOptions.ForPreset(r.GetValue(quick) ? "quick" : r.GetValue(preset)!);
            RunCheck.Writable(r.GetValue(output)!, $"--out {r.GetValue(output)}", "output folder"); // before any work
            var f = o.Frontier;
            if (r.GetValue(seed) is { } s) f = f with { Seed = s };
            if (r.GetValue(threads) is { } t) f = f with { Threads = t };
            if (r.GetValue(steps) is { } n) f = f with { Steps = n, EvalEvery = Math.Max(1, n / 4) };
            if (r.GetValue(lr) is { } rate) f = f with { LearningRate = rate };
            if (r.GetValue(rmLr) is { } rmRate) f = f with { RewardLearningRate = rmRate };
            o = o with { Frontier = f };
            if (r.GetValue(betas) is { Length: > 0 } grid) o = o with { Betas = Numbers("--betas", grid) };
            if (r.GetValue(trainPairs) is { } pairs) o = o with { TrainPairs = pairs };
            var result = RewardGeneralizationExperiment.Run(o, r.GetValue(output)!, line => Console.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine(File.ReadAllText(result.Markdown));
            return 0;
        });
        return rewards;
    }

    /// <summary><c>experiment online [--quick | --preset test|quick] [--out DIR] [--seed N] [--threads N] [--methods a,b]</c>.</summary>
    private static Command Online()
    {
        var preset = new Option<string>("--preset") { Description = "test (seconds) or quick (< 15 min on 2 cores)", DefaultValueFactory = _ => "quick" };
        var quick = new Option<bool>("--quick") { Description = "same as --preset quick" };
        var output = new Option<string>("--out", "-o") { Description = "output folder for online.png/online-kl.png/.md/.csv", DefaultValueFactory = _ => "online-out" };
        var seed = new Option<int?>("--seed") { Description = "seed of the whole experiment (default: the preset's)" };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default 1; 0 keeps libtorch's default)" };
        var labels = new Option<int?>("--labels") { Description = "preference labels per method (default: the preset's)" };
        var methods = new Option<string?>("--methods")
        {
            Description = "comma-separated methods to keep: " + string.Join(", ", OnlineExperimentOptions.AllMethods),
        };
        var online = new Command("online", "Offline DPO vs OAIF vs iterative DPO vs DICE vs SPPO at equal numbers of preference labels: ground-truth reward against labels used and against KL.")
        {
            preset, quick, output, seed, threads, labels, methods,
        };
        online.SetAction(r =>
        {
            var o = OnlineExperimentOptions.ForPreset(r.GetValue(quick) ? "quick" : r.GetValue(preset)!);
            if (r.GetValue(seed) is { } s) o = o with { Seed = s };
            if (r.GetValue(threads) is { } t) o = o with { Threads = t };
            if (r.GetValue(labels) is { } n) o = o with { Labels = n };
            if (r.GetValue(methods) is { Length: > 0 } keep)
                o = o with { Methods = keep.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
            RunCheck.Writable(r.GetValue(output)!, $"--out {r.GetValue(output)}", "output folder"); // before any work
            var result = OnlineExperiment.Run(o, r.GetValue(output)!, line => Console.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine(File.ReadAllText(result.Files.Markdown));
            return 0;
        });
        return online;
    }
}
