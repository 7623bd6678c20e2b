using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Objectives;
using AlignSharp.Tokenization;
using AlignSharp.Training;

namespace AlignSharp.Tests.Data;

/// <summary>Builds models, which draws from TorchSharp's global generator: run alone so seeded tests elsewhere are not disturbed.</summary>
[Collection("Console output")]
public sealed class HhDpoSmokeTests
{
    [Fact]
    public void Dpo_trains_a_few_steps_on_hh_pairs()
    {
        // HH through the data pipeline: byte tokenizer, max_length 256 (prompts keep their last 128 tokens).
        var data = TokenizedData.Load(Hh.Path, new ByteTokenizer(), TokenizationOptions.WithHalfPrompt(256));
        Assert.All(data.Pairs, p => Assert.True(p.Length <= 256));
        var pairs = data.Pairs.Take(16).ToList();
        var config = ModelConfig.TinyGpt2(new ByteTokenizer().VocabSize, hidden: 16, layers: 1, heads: 2, maxPositions: 256);
        var policy = new Gpt2Model(config);
        var reference = new Gpt2Model(config);
        reference.load_state_dict(policy.state_dict()); // the reference starts equal to the policy, whatever the seed
        var setup = new TrainingSetup(policy, new FrozenReference(reference), new Dpo(0.1), pairs, [], ByteTokenizer.Pad);
        var options = new TrainingOptions
        {
            MaxSteps = 3, BatchSize = 4, LearningRate = 1e-2, WarmupSteps = 0, Schedule = ScheduleKind.Constant, Seed = 7, LoggingSteps = 1, SaveTotalLimit = 0,
        };
        var outDir = Path.Combine(Path.GetTempPath(), "alignsharp-tests", Guid.NewGuid().ToString("n"));
        try
        {
            var log = new PreferenceTrainer(setup, options, outDir, new AlignSharp.Tests.Training.RecordingObserver()).Run();
            Assert.Equal(3, log.Count);
            Assert.Equal(Math.Log(2), log[0]["loss"], 5); // policy == reference: DPO loss is ln 2
            Assert.All(log, m => Assert.True(double.IsFinite(m["loss"]) && double.IsFinite(m["rewards/margins"])));
            Assert.NotEqual(log[0]["loss"], log[^1]["loss"]); // the policy moved away from the reference
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
