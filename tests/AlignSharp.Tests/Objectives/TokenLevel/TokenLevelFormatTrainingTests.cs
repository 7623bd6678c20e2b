using System.Text.Json;
using AlignSharp.Data;
using AlignSharp.Data.Formats;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Objectives;
using AlignSharp.Tests.Training;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Tests.Objectives.TokenLevel;

/// <summary>
/// Every pairwise token-level objective trains on its own record format through the data path (loader, tokenizer,
/// per-token alignment, the trainer's providers): a short run on a tiny byte-level GPT-2 moves the loss down AND the
/// objective's implicit reward margin up (chosen over rejected), so a sign error fails.
/// </summary>
public sealed class TokenLevelFormatTrainingTests
{
    private const int Steps = 8, Records = 8;

    /// <summary>(objective, parameters, format, one record per index).</summary>
    public static TheoryData<string, string, string> Cases() => new()
    {
        { "step_dpo", "", "steps" },
        { "scdpo", "", "steps" },
        { "dmpo", "", "trajectory" },
        { "dmpo", "gamma=1", "trajectory" },
        { "sdpo", "", "segment" },
        { "bmc", "", "edit" },
        { "sr_dpo", "lambda=0.3", "refinement" },
        { "sr_ipo", "lambda=0.3", "refinement" },
        { "copg", "", "scored" },
    };

    /// <summary>Record i of a format: arithmetic with a right and a wrong answer, in that format's layout.</summary>
    internal static string Record(string format, int i)
    {
        int a = i + 2, b = 2 * i + 3;
        object record = format switch
        {
            "steps" => new
            {
                prompt = $"Q: {a}+{b}*2?\n", prefix_steps = new[] { $"{b}*2 = {2 * b}." },
                chosen = new[] { $"{a}+{2 * b} = {a + 2 * b}.", $"Answer: {a + 2 * b}" },
                rejected = new[] { $"{a}+{2 * b} = {a + 2 * b + 1}.", $"Answer: {a + 2 * b + 1}" },
            },
            "trajectory" => new
            {
                task = $"Open box {i}.",
                chosen = new object[]
                {
                    new { role = "assistant", content = "look" }, new { role = "user", content = "a key" },
                    new { role = "assistant", content = "take key" },
                },
                rejected = new object[]
                {
                    new { role = "assistant", content = "sleep" }, new { role = "user", content = "nothing" },
                    new { role = "assistant", content = "zzz" },
                },
            },
            "segment" => new
            {
                history = new object[] { new { role = "user", content = $"What is {a}+{b}?" } },
                chosen = new object[]
                {
                    new { role = "assistant", content = $"{a + b}" }, new { role = "user", content = "sure?" },
                    new { role = "assistant", content = "yes" },
                },
                rejected = new object[]
                {
                    new { role = "assistant", content = $"{a + b + 7}" }, new { role = "user", content = "sure?" },
                    new { role = "assistant", content = "no" },
                },
                segment = new[] { 0, 2 },
            },
            "edit" => new
            {
                prompt = $"{a}+{b}=", chosen = $"the sum is {a + b}, done", rejected = $"the sum is {a + b + 9}, done",
            },
            "scored" => new
            {
                prompt = $"{a}+{b}=",
                samples = new object[]
                {
                    new { text = $"{a + b}", reward = 1.0 }, new { text = $"{a + b + 9}", reward = 0.0 },
                },
            },
            "refinement" => new
            {
                prompt = $"{a}+{b}=", chosen = $"{a + b}", rejected = $"{a + b + 9}", refinement_prompt = "Be exact.",
            },
            _ => throw new ArgumentException(format),
        };
        return JsonSerializer.Serialize(record);
    }

    internal static List<TokenizedPair> Load(string format, int records, int maxLength = 96)
    {
        string path = Path.Combine(TestTemp.Dir("tl-format"), format + ".jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, records).Select(i => Record(format, i)));
        var data = TokenizedData.Load(path, new ByteTokenizer(), TokenizationOptions.WithHalfPrompt(maxLength),
            new DataOptions { Format = DataFormats.Parse(format) });
        Assert.Equal(records, data.Pairs.Count);
        return [.. data.Pairs];
    }

    internal static Gpt2Model ByteModel(long seed)
    {
        var model = new Gpt2Model(ModelConfig.TinyGpt2(new ByteTokenizer().VocabSize, hidden: 16, layers: 1, heads: 2,
            maxPositions: 128));
        using var g = new torch.Generator((ulong)seed);
        using var _ = torch.no_grad();
        foreach (var (name, p) in model.named_parameters().OrderBy(x => x.name, StringComparer.Ordinal))
        {
            using var r = torch.randn(p.shape, p.dtype, generator: g);
            p.copy_(name.EndsWith(".weight") && p.dim() == 1 ? 1 + 0.1 * r : 0.1 * r);
        }
        return model;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Training_on_its_format_moves_the_loss_down_and_the_margin_up(string id, string parameters, string format)
    {
        var values = parameters.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('='))
            .ToDictionary(kv => kv[0], kv => kv[1]);
        var objective = ObjectiveCatalog.Create(id, new ObjectiveParams(values));
        using var reference = new FrozenReference(ByteModel(1));
        var setup = new TrainingSetup(ByteModel(1), reference, objective, Load(format, Records), [], ByteTokenizer.Pad);
        var options = new TrainingOptions
        {
            MaxSteps = Steps, BatchSize = Records, LearningRate = 1e-2, WarmupSteps = 0,
            Schedule = ScheduleKind.Constant, Seed = 7, LoggingSteps = 1, SaveTotalLimit = 1,
        };
        var log = new PreferenceTrainer(setup, options, TinyRun.TempDir(), new RecordingObserver()).Run();
        var steps = log.Where(m => m.ContainsKey("loss")).ToList();
        var losses = steps.Select(m => m["loss"]).ToList();
        var margins = steps.Select(m => m["rewards/margins"]).ToList();
        Assert.True(losses[^1] < losses[0], $"{id}: loss did not go down: [{string.Join(", ", losses)}]");
        // A sign error would push the rejected completion up: the margin must rise and end positive.
        Assert.True(margins[^1] > margins[0] && margins[^1] > 0, $"{id}: margin [{string.Join(", ", margins)}]");
    }
}
