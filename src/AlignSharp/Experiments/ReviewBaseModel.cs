using AlignSharp.Data;
using AlignSharp.Models;
using AlignSharp.Models.Families;
using AlignSharp.Tasks;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;
using AlignSharp.IO;
using static TorchSharp.torch;

namespace AlignSharp.Experiments;

/// <summary>
/// Builds the experiment's base model: a byte-level tiny GPT-2 trained by next-token prediction on the review corpus
/// (BOS + review + EOS; every token after BOS is scored), which is the pretraining and the SFT of the task at once.
/// Uses the project's optimizer and schedule (<see cref="PreferenceTrainer.CreateOptimizer"/>, <see cref="LearningRateSchedule"/>)
/// and the one shifted log-prob function (<see cref="SequenceLogProbs"/>).
/// </summary>
public static class ReviewBaseModel
{
    /// <summary>Trains a fresh model on <paramref name="corpus"/>; reports the mean NLL per token every few steps.</summary>
    public static Gpt2Model Train(FrontierOptions o, ITokenizer tokenizer, IReadOnlyList<string> corpus, Action<string> log)
    {
        torch.manual_seed(o.Seed);
        var rows = corpus.Select(text => tokenizer.AddSpecialTokensOnce(text).Append(tokenizer.EosId ?? 0).ToArray()).ToList();
        var model = new Gpt2Model(Config(o, tokenizer));
        var options = new TrainingOptions { LearningRate = o.PretrainLearningRate, WarmupSteps = Math.Max(1, o.PretrainSteps / 20), Schedule = ScheduleKind.Cosine, WeightDecay = 0.01 };
        using var optimizer = PreferenceTrainer.CreateOptimizer(model, options);
        var schedule = LearningRateSchedule.From(options, o.PretrainSteps);
        var rng = new Random(o.Seed);
        var parameters = model.parameters().ToList();
        model.train();
        double running = double.NaN;
        for (int step = 0; step < o.PretrainSteps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var batch = Enumerable.Range(0, o.PretrainBatch).Select(_ => rows[rng.Next(rows.Count)])
                .Select(r => r.Length <= model.Config.MaxPositions ? r : r[..model.Config.MaxPositions]).ToList();
            // BOS is given, every later token is predicted: the first token plays the prompt.
            var packed = RowCollator.RightPad(batch.Select(r => (r[..1], r[1..])).ToList(), PadRule.IdFor(tokenizer));
            var lp = SequenceLogProbs.Compute(model, packed.InputIds, packed.AttentionMask, packed.PositionIds, packed.CompletionMask);
            var loss = -lp.Sums.sum() / lp.Counts.sum(); // mean NLL per scored token
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = schedule.At(step);
            optimizer.step();
            double value = loss.item<float>();
            running = double.IsNaN(running) ? value : 0.9 * running + 0.1 * value;
            if ((step + 1) % Math.Max(1, o.PretrainSteps / 5) == 0 || step + 1 == o.PretrainSteps)
                log(FormattableString.Invariant($"base model step {step + 1}/{o.PretrainSteps}: nll/token {running:0.000}"));
        }
        model.eval();
        return model;
    }

    /// <summary>
    /// The base model's architecture: positions for the longest prompt the task writes plus the sampling limit
    /// (training rows are cut to fit).
    /// </summary>
    public static ModelConfig Config(FrontierOptions o, ITokenizer tokenizer)
    {
        int longestPrompt = ReviewLexicon.Default.Subjects.Max(s => tokenizer.Encode(ReviewGenerator.PromptPrefix + s).Count) + 1;
        return ModelConfig.TinyGpt2(tokenizer.VocabSize, hidden: o.Hidden, layers: o.Layers, heads: 4, maxPositions: longestPrompt + o.MaxNewTokens);
    }

    /// <summary>Loads weights written by <see cref="Save"/> into a model built from <see cref="Config"/>.</summary>
    public static Gpt2Model Load(FrontierOptions o, ITokenizer tokenizer, string path)
    {
        var model = new Gpt2Model(Config(o, tokenizer));
        model.load(path);
        model.eval();
        return model;
    }

    /// <summary>Saves the weights atomically (temporary file, then rename).</summary>
    public static void Save(Gpt2Model model, string path)
    {
        AtomicFile.Write(path, temp => model.save(temp));
    }

    /// <summary>A separate model with the same weights (the policy of one run, or a frozen reference).</summary>
    public static Gpt2Model Copy(Gpt2Model source)
    {
        var copy = new Gpt2Model(source.Config);
        copy.load_state_dict(source.state_dict());
        copy.eval();
        return copy;
    }
}
