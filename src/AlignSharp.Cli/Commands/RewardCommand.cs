using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.IO;
using AlignSharp.Runs;
using AlignSharp.Training;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp reward train --config FILE [--set k=v ...] [--resume latest|DIR] [--overwrite]</c> fits a reward
/// model (Bradley-Terry, TRL's metric names) and saves it in transformers' sequence-classification layout;
/// <c>alignsharp reward score --model DIR --data FILE [--output FILE]</c> prints one JSON line of scores per record.
/// </summary>
internal sealed class RewardCommand : ICliCommand
{
    public Command Build() => new("reward", "Reward models: train one on preference pairs, score texts with one.")
    {
        TrainCommand(), ScoreCommand(),
    };

    private static Command TrainCommand()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "YAML run configuration", Required = true };
        var set = new Option<string[]>("--set") { Description = "override a config value (repeatable)" };
        var resume = new Option<string?>("--resume") { Description = "continue from 'latest' or a checkpoint folder" };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace the run already in output_dir" };
        var allowChange = new Option<bool>("--allow-config-change")
        {
            Description = "resume although the config differs from the one the run started with",
        };
        var cmd = new Command("train", "Train a reward model (a one-output head on a causal LM) with the Bradley-Terry loss.")
        {
            config, set, resume, overwrite, allowChange,
        };
        cmd.SetAction(r =>
        {
            var cfg = RunConfig.Load(r.GetValue(config)!.FullName, r.GetValue(set) ?? []);
            RunCheck.OutputWritable(cfg); // before any work, not after it
            string? from = r.GetValue(resume);
            var mode = RunFolder.ModeFor(from, r.GetValue(overwrite));
            using var folder = RunFolder.Claim(cfg, mode, r.GetValue(allowChange), Console.WriteLine);
            using var signals = GracefulStop.Install(Console.Error.WriteLine);
            Console.WriteLine($"reward model: output {cfg.OutputDir}");
            IReadOnlyList<Dictionary<string, double>> log;
            try
            {
                log = ConsoleProgress.Run("reward model", obs =>
                {
                    using var run = RunBuilder.BuildReward(cfg, obs);
                    return run.TrainIn(folder, from);
                });
            }
            catch (TrainingStoppedException e)
            {
                Console.Error.WriteLine(e.Message);
                return TrainingStoppedException.ExitCode;
            }
            ConsoleProgress.WriteLine(log.Count == 0 ? "nothing to do: already at the last step"
                : "final: " + ConsoleProgress.Format((int)log[^1]["step"], (int)log[^1]["step"], log[^1]));
            Console.WriteLine($"reward model: {Path.Combine(cfg.OutputDir, "final")}");
            return 0;
        });
        return cmd;
    }

    private static Command ScoreCommand()
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "reward-model folder", Required = true };
        var data = new Option<FileInfo>("--data", "-d")
        {
            Description = "JSONL of {prompt, completion} or {prompt, chosen, rejected} records (prompt may be absent)",
            Required = true,
        };
        var outputFile = new Option<FileInfo?>("--output", "-o") { Description = "write the scores here (default: stdout)" };
        var batch = new Option<int>("--batch-size") { Description = "rows per forward pass", DefaultValueFactory = _ => 16 };
        var tokenizerSpec = new Option<string?>("--tokenizer")
        {
            Description = "tokenizer: 'byte', a folder or a tokenizer.json (default: the model folder)",
        };
        var maxLength = new Option<int>("--max-length")
        {
            Description = "tokens per row (prompt + completion) before TRL's truncation", DefaultValueFactory = _ => 1024,
        };
        var cmd = new Command("score", "Score texts with a reward model: one JSON line per record.")
        {
            model, data, outputFile, batch, maxLength, tokenizerSpec,
        };
        cmd.SetAction(r =>
        {
            string dir = r.GetValue(model)!.FullName, path = r.GetValue(data)!.FullName;
            if (r.GetValue(outputFile) is { } target) // before any scoring, not after it
                RunCheck.Writable(target.DirectoryName!, $"--output {target.FullName}", "folder");
            var records = ScoreRecords.Read(path);
            using var reward = RewardModelFolder.Load(dir);
            var tokenizer = RunTokenizer.Load(r.GetValue(tokenizerSpec) ?? dir);
            int max = Math.Min(r.GetValue(maxLength), reward.Backbone.Config.MaxSequenceLength ?? int.MaxValue);
            var scorer = new RewardModelScorer(reward, tokenizer, TokenizationOptions.WithHalfPrompt(max), r.GetValue(batch));
            var texts = records.SelectMany(x => x.Completions.Select(c => (x.Prompt, c))).ToList();
            var lines = records.SelectMany(x => x.Completions.Select(_ => (long)x.Line)).ToList();
            var scores = scorer.Score(texts, path, lines);
            var output = new List<string>(records.Count);
            int k = 0;
            foreach (var rec in records)
            {
                var o = new JsonObject { ["line"] = rec.Line };
                if (rec.Completions.Count == 1) o["score"] = scores[k++];
                else
                {
                    double chosen = scores[k++], rejected = scores[k++];
                    o["chosen_score"] = chosen;
                    o["rejected_score"] = rejected;
                    o["margin"] = chosen - rejected;
                }
                output.Add(o.ToJsonString());
            }
            if (r.GetValue(outputFile) is { } file)
            {
                AtomicFile.WriteAllLines(file.FullName, output);
                Console.WriteLine($"scored {records.Count} records: {file.FullName}");
            }
            else foreach (var l in output) Console.WriteLine(l);
            return 0;
        });
        return cmd;
    }
}

/// <summary>One record to score: its line, prompt, and one completion or a chosen and a rejected one.</summary>
internal sealed record ScoreRecord(int Line, string Prompt, IReadOnlyList<string> Completions);

/// <summary>Reads <c>reward score</c>'s JSONL; anything malformed is an error naming the line and field.</summary>
internal static class ScoreRecords
{
    public static List<ScoreRecord> Read(string path)
    {
        if (!File.Exists(path)) throw new AlignSharpException($"{path}: file not found");
        var result = new List<ScoreRecord>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonObject o;
            try
            {
                o = JsonNode.Parse(text) as JsonObject
                    ?? throw new AlignSharpException($"{path}:{line}: a record must be a JSON object");
            }
            catch (JsonException e)
            {
                throw new AlignSharpException($"{path}:{line}: not valid JSON ({e.Message})");
            }
            string? Field(string name) => o[name] switch
            {
                null => null,
                JsonValue v when v.TryGetValue(out string? s) => s,
                _ => throw new AlignSharpException($"{path}:{line}: field '{name}' must be a string"),
            };
            string prompt = Field("prompt") ?? "";
            if (Field("completion") is { } completion) result.Add(new ScoreRecord(line, prompt, [completion]));
            else if (Field("chosen") is { } chosen && Field("rejected") is { } rejected)
                result.Add(new ScoreRecord(line, prompt, [chosen, rejected]));
            else
                throw new AlignSharpException($"{path}:{line}: needs a 'completion', or a 'chosen' and a 'rejected' string");
        }
        if (result.Count == 0) throw new AlignSharpException($"{path}: no records");
        return result;
    }
}
