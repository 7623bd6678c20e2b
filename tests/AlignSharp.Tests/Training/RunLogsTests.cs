using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using AlignSharp.Training;
using Google.Protobuf;

namespace AlignSharp.Tests.Training;

/// <summary>
/// What a run leaves for people to read besides <c>metrics.jsonl</c>: TRL's <c>logits/*</c>, <c>train_results.json</c>
/// and TensorBoard event files, read back here with an independent protobuf decoder (Google.Protobuf).
/// </summary>
[Collection("TorchGlobalSeed")]
public sealed class RunLogsTests
{
    private static TrainingOptions Options(int steps) => new()
    {
        MaxSteps = steps, BatchSize = 4, LearningRate = 1e-2, Schedule = ScheduleKind.Constant, Seed = 7,
        LoggingSteps = 1, EvalSteps = 2, SaveTotalLimit = 0, ReportTo = [TrainingOptions.TensorBoard],
    };

    [Fact]
    public void Crc32c_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Metrics_carry_trls_mean_logits_of_both_completions()
    {
        var pairs = TinyRun.Pairs(8);
        var log = new PreferenceTrainer(TinyRun.Setup(pairs, eval: pairs), Options(2), TinyRun.TempDir(),
            new RecordingObserver()).Run();
        foreach (var key in new[] { "logits/chosen", "logits/rejected", "eval_logits/chosen", "eval_logits/rejected" })
            Assert.Contains(log, m => m.ContainsKey(key) && double.IsFinite(m[key]));
        // The tiny model's logits are small random numbers: their vocabulary mean stays near zero, and the two sides
        // differ because the completions differ.
        var first = log[0];
        Assert.True(Math.Abs(first["logits/chosen"]) < 1, $"{first["logits/chosen"]}");
        Assert.NotEqual(first["logits/chosen"], first["logits/rejected"]);
    }

    [Fact]
    public void Train_results_summarise_the_run_under_hugging_faces_names()
    {
        var dir = TinyRun.TempDir();
        var observer = new RecordingObserver();
        var trainer = new PreferenceTrainer(TinyRun.Setup(TinyRun.Pairs(8)), Options(4), dir, observer);
        var log = trainer.Run();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, TrainResults.FileName)))!.AsObject();
        Assert.Equal(["epoch", "train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second"],
            json.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        double meanLoss = log.Where(m => m.ContainsKey("loss")).Average(m => m["loss"]); // one log line per step
        Assert.Equal(meanLoss, json["train_loss"]!.GetValue<double>(), 9);
        Assert.Equal(log[^1]["epoch"], json["epoch"]!.GetValue<double>(), 4);
        double runtime = json["train_runtime"]!.GetValue<double>();
        double samples = json["train_samples_per_second"]!.GetValue<double>();
        double steps = json["train_steps_per_second"]!.GetValue<double>();
        Assert.True(runtime > 0);
        // 4 pairs per step; both rates are rounded to 3 decimals.
        Assert.True(Math.Abs(samples - 4 * steps) <= 0.0025, $"{samples} samples/s vs {steps} steps/s");
        Assert.Contains(observer.Messages, m => m.StartsWith("train_runtime ", StringComparison.Ordinal)
            && m.Contains("(4 steps)", StringComparison.Ordinal));
    }

    [Fact]
    public void Tensorboard_event_file_holds_every_logged_metric_with_valid_framing()
    {
        var dir = TinyRun.TempDir();
        var pairs = TinyRun.Pairs(8);
        var log = new PreferenceTrainer(TinyRun.Setup(pairs, eval: pairs), Options(4), dir, new RecordingObserver()).Run();
        var file = Assert.Single(Directory.GetFiles(Path.Combine(dir, PreferenceTrainer.TensorBoardDir), "events.out.tfevents.*"));
        var events = ReadEvents(File.ReadAllBytes(file));

        Assert.Equal(TensorBoardEvents.FileVersion, events[0].FileVersion);
        var scalars = events.Skip(1).ToList();
        Assert.Equal(log.Count, scalars.Count); // one event per log line (train and eval)
        foreach (var (metrics, e) in log.Zip(scalars))
        {
            Assert.Equal((long)metrics["step"], e.Step);
            Assert.True(e.WallTime > 1.6e9, $"wall time {e.WallTime}");
            var expected = metrics.Where(kv => kv.Key != "step")
                .ToDictionary(kv => TensorBoardEvents.TagOf(kv.Key), kv => (float)kv.Value);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), e.Values.Keys.Order(StringComparer.Ordinal));
            foreach (var (tag, value) in expected) Assert.Equal(value, e.Values[tag]);
        }
        Assert.Contains(scalars, e => e.Values.ContainsKey("train/loss") && e.Values.ContainsKey("train/logits/chosen"));
        Assert.Contains(scalars, e => e.Values.ContainsKey("eval/loss") && e.Values.ContainsKey("eval/rewards/accuracies"));
    }

    [Fact]
    public void An_unknown_report_destination_is_an_error_naming_the_key()
    {
        var options = Options(1) with { ReportTo = ["wandb"] };
        var e = Assert.Throws<AlignSharpException>(() =>
            new PreferenceTrainer(TinyRun.Setup(TinyRun.Pairs(4)), options, TinyRun.TempDir(), new RecordingObserver()).Run());
        Assert.Contains("training.report_to", e.Message);
        Assert.Contains("wandb", e.Message);
    }

    private sealed record Event(double WallTime, long Step, string? FileVersion, Dictionary<string, float> Values);

    /// <summary>TFRecord framing (length, masked CRC of the length, data, masked CRC of the data) of Event protos.</summary>
    private static List<Event> ReadEvents(byte[] bytes)
    {
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            var header = bytes.AsSpan(at, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            Assert.Equal(Crc32C.Masked(header), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8, 4)));
            var data = bytes.AsSpan(at + 12, (int)length);
            Assert.Equal(Crc32C.Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + (int)length, 4)));
            events.Add(ParseEvent(data.ToArray()));
            at += 12 + (int)length + 4;
        }
        Assert.Equal(bytes.Length, at);
        return events;
    }

    private static Event ParseEvent(byte[] data)
    {
        var input = new CodedInputStream(data);
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new Dictionary<string, float>(StringComparer.Ordinal);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5:
                    var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                    for (uint s; (s = summary.ReadTag()) != 0;)
                    {
                        Assert.Equal(1, WireFormat.GetTagFieldNumber(s)); // Summary.value
                        var value = new CodedInputStream(summary.ReadBytes().ToByteArray());
                        string name = "";
                        float simple = float.NaN;
                        for (uint v; (v = value.ReadTag()) != 0;)
                        {
                            if (WireFormat.GetTagFieldNumber(v) == 1) name = value.ReadString();
                            else if (WireFormat.GetTagFieldNumber(v) == 2) simple = value.ReadFloat();
                            else value.SkipLastField();
                        }
                        values[name] = simple;
                    }
                    break;
                default: Assert.Fail($"unexpected Event field {WireFormat.GetTagFieldNumber(tag)}"); break;
            }
        }
        return new Event(wall, step, version, values);
    }
}
