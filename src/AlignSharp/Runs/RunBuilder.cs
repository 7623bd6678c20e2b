using AlignSharp.Adapters;
using AlignSharp.Checkpoints;
using AlignSharp.Config;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Distributed;
using AlignSharp.IO;
using AlignSharp.Models;
using AlignSharp.Objectives;
using AlignSharp.Tokenization;
using AlignSharp.Training;
using TorchSharp;

namespace AlignSharp.Runs;

/// <summary>
/// The composition root: turns a <see cref="RunConfig"/> into a ready <see cref="PreparedRun"/> (tokenizer, pad id,
/// device and dtype, policy, reference strategy, objective, data, trainer, output folder). <c>train</c>, <c>eval</c>,
/// the quickstart, the frontier experiment and the benchmark build their runs and models here; nothing else picks a
/// tokenizer, a pad id, a reference strategy or a device.
/// </summary>
public static class RunBuilder
{
    /// <summary>
    /// Builds every piece of the run; disposing the result releases the models. <c>training.threads</c> applies from
    /// here on (building a cached reference already runs forwards). In a data-parallel job pass its
    /// <paramref name="collectives"/>: the reference cache is then computed in shares across the ranks.
    /// </summary>
    public static PreparedRun Build(RunConfig config, ITrainingObserver observer, ICollectives? collectives = null)
    {
        if (config.Training.Threads > 0) torch.set_num_threads(config.Training.Threads);
        var comm = collectives ?? SingleProcess.Instance;
        var target = ComputeTarget.From(config);
        if (target.PrecisionWarning is { } warning) observer.OnMessage(warning);
        var tokenizer = RunTokenizer.Load(RunTokenizer.SpecOf(config));
        var objective = config.CreateObjective();
        int pad = PadRule.IdFor(tokenizer);
        var data = RunData.For(config, tokenizer, observer.OnMessage);
        CausalLM? policy = null;
        IReferenceStrategy? reference = null;
        LoraAdapter? adapter = null;
        try
        {
            policy = StartingModel(config, tokenizer, target);
            adapter = Adapter(config, policy, observer);
            var (train, eval) = data.Examples(unpaired: objective is IUnpairedObjective && data.IsUnpaired);
            observer.OnMessage(train.Kind switch
            {
                BatchKind.Pairs => $"data: {train.Count} training pairs, {eval.Count} evaluation pairs",
                BatchKind.Responses => $"data: {train.Count} training prompts, {eval.Count} evaluation prompts "
                    + "(scored responses)",
                _ => $"data: {train.Count} training examples, {eval.Count} evaluation examples (unpaired)",
            });
            reference = Reference(config, objective, tokenizer, target, [train, eval], pad, observer, adapter, comm);
            var setup = new TrainingSetup(policy, reference, objective, train, eval, pad) { Collectives = comm };
            if (adapter is not null) setup = setup with { Trainable = new AdapterWeights(adapter, config.Model.Path) };
            var head = HeadFor(config, objective, policy, pad, adapter, observer);
            if (head is not null)
                setup = setup with { InputProviders = [new HeadRewardProvider(head)], Trainable = new PolicyWithHeadWeights(head) };
            var valueHead = ValueHeadFor(objective, policy, target, observer);
            if (valueHead is not null)
                setup = setup with
                {
                    InputProviders = [.. setup.InputProviders, new ValueHeadProvider(valueHead)],
                    Trainable = new ValueHeadWeights(setup.Trainable ?? new FullModelWeights(policy), valueHead),
                };
            return new PreparedRun(config, tokenizer, target, setup, observer)
            {
                Adapter = adapter, Head = head, ValueHead = valueHead,
            };
        }
        catch
        {
            adapter?.Dispose();
            reference?.Dispose();
            policy?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a run whose pairs are made while it runs (the online loop): every piece of <see cref="Build"/> but the
    /// data (no <c>data</c> section is read; the example sets are empty). The reference is always a model, a frozen
    /// copy of <c>reference_path</c> or of the starting model (<see cref="PreparedRun.ReferenceModel"/>), even for a
    /// reference-free objective, since such a run samples from it, scores with it and may move it.
    /// </summary>
    /// <exception cref="ConfigException">An <c>adapter</c> section (adapters train on fixed data only).</exception>
    public static PreparedRun BuildWithoutData(RunConfig config, ITrainingObserver observer)
    {
        if (LoraOptionsOf(config.Adapter) is not null || config.Adapter.Path is not null)
            throw new ConfigException("adapter: a run without a data section (the online loop) trains the full model; "
                + "remove the adapter section");
        var target = ComputeTarget.From(config);
        if (target.PrecisionWarning is { } warning) observer.OnMessage(warning);
        var tokenizer = RunTokenizer.Load(RunTokenizer.SpecOf(config));
        var objective = config.CreateObjective();
        int pad = PadRule.IdFor(tokenizer);
        CausalLM? policy = null;
        try
        {
            policy = StartingModel(config, tokenizer, target);
            var reference = new FrozenReference(ReferenceModel(config, tokenizer, target));
            var setup = new TrainingSetup(policy, reference, objective, [], [], pad);
            return new PreparedRun(config, tokenizer, target, setup, observer);
        }
        catch
        {
            policy?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A reward run (<c>alignsharp reward train</c>): a reward model (a one-output head on the starting model's
    /// decoder, or the reward-model folder <c>model.path</c> names, to continue training it) fitted with the
    /// Bradley-Terry loss (<c>objective: {name: bradley_terry, center_rewards_coefficient: c}</c>, the default when
    /// the config names no objective) on the run's pairs. Checkpoints and <c>final/</c> are reward-model folders in
    /// transformers' sequence-classification layout.
    /// </summary>
    public static PreparedRun BuildReward(RunConfig config, ITrainingObserver observer)
    {
        var target = ComputeTarget.From(config);
        var tokenizer = RunTokenizer.Load(RunTokenizer.SpecOf(config));
        var objective = RewardObjective(config);
        if (config.Adapter.Type != AdapterKind.None || config.Adapter.Path is not null)
            throw new ConfigException("adapter: reward models train every weight (no adapter) for now");
        var data = RunData.For(config, tokenizer, observer.OnMessage);
        RewardModel? model = null;
        try
        {
            model = RewardStart(config, tokenizer, target, observer);
            int pad = model.PadTokenId ?? throw new ConfigException(
                $"model.path: {config.Model.Path} has no pad_token_id, which a reward model needs to find each row's last token");
            var (train, eval) = data.Examples(unpaired: false);
            observer.OnMessage($"data: {train.Count} training pairs, {eval.Count} evaluation pairs");
            var setup = new TrainingSetup(model.Backbone, new NoReference(), objective, train, eval, pad)
            {
                InputProviders = [new HeadRewardProvider(model)],
                Trainable = new RewardModelWeights(model),
            };
            return new PreparedRun(config, tokenizer, target, setup, observer) { Head = model, IsRewardModel = true };
        }
        catch
        {
            model?.Dispose();
            throw;
        }
    }

    /// <summary>The reward run's objective: bradley_terry, by default or as configured; any other is an error.</summary>
    private static IPreferenceObjective RewardObjective(RunConfig config)
    {
        if (config.Objectives is [{ Where: "default" }]) return new BradleyTerry(0);
        var objective = config.CreateObjective();
        return objective is BradleyTerry ? objective
            : throw new ConfigException($"{config.Objectives[0].Where}: a reward model trains objective 'bradley_terry' "
                + $"(with its center_rewards_coefficient), not '{objective.Id}'");
    }

    /// <summary>
    /// The reward model a reward run starts from: the folder <c>model.path</c> when it is one (continued), else a fresh
    /// head (drawn under <c>training.seed</c>) on the run's starting model, padded by the run's pad rule.
    /// </summary>
    private static RewardModel RewardStart(RunConfig config, ITokenizer tokenizer, ComputeTarget target,
        ITrainingObserver observer)
    {
        if (config.Model.Path is { } path && RewardModelFolder.IsRewardModel(path))
        {
            observer.OnMessage($"reward model: continuing {path}");
            return RewardModelFolder.Load(path, new HfLoadOptions { DType = target.DType, Device = target.Device });
        }
        var backbone = StartingModel(config, tokenizer, target);
        torch.manual_seed(config.Training.Seed);
        observer.OnMessage($"reward model: a new score head on {backbone.Config.ModelType} "
            + $"({backbone.Config.Family.SequenceClassificationArchitecture(backbone.Config)})");
        return new RewardModel(backbone, PadRule.IdFor(tokenizer));
    }

    /// <summary>
    /// The reward head an objective of the run asks for (<see cref="HeadRewards"/>: Direct Preference Heads), drawn
    /// under <c>training.seed</c> on the policy, or null when none asks.
    /// </summary>
    private static RewardModel? HeadFor(RunConfig config, IPreferenceObjective objective, CausalLM policy, int pad,
        LoraAdapter? adapter, ITrainingObserver observer)
    {
        var members = objective is CombinedObjective c ? c.Members.Select(m => m.Objective) : [objective];
        if (!members.Any(o => o.Inputs.Any(r => r is HeadRewards))) return null;
        if (adapter is not null)
            throw new ConfigException($"{config.Objectives[0].Where}: a reward head (objective '{objective.Id}') trains "
                + "with the full policy, not under an adapter");
        torch.manual_seed(config.Training.Seed);
        observer.OnMessage("reward head: a one-output head on the policy's last non-pad hidden state");
        return new RewardModel(policy, pad);
    }

    /// <summary>
    /// OREO's value head (<see cref="Objectives.TokenLevel.OreoInputs"/>) on the policy's final hidden states,
    /// zero-initialised in the policy's dtype and on its device, or null when no objective of the run asks for it.
    /// </summary>
    private static Objectives.TokenLevel.ValueHead? ValueHeadFor(IPreferenceObjective objective, CausalLM policy,
        ComputeTarget target, ITrainingObserver observer)
    {
        var members = objective is CombinedObjective c ? c.Members.Select(m => m.Objective) : [objective];
        if (!members.Any(o => o.Inputs.Any(r => r is Objectives.TokenLevel.OreoInputs))) return null;
        var head = new Objectives.TokenLevel.ValueHead(policy.Config.HiddenSize, policy.parameters().First().dtype);
        if (target.Device.type != DeviceType.CPU) head.to(target.Device);
        observer.OnMessage("value head: V(s_t) = w.h + b on the policy's hidden state before each token (zero-initialised)");
        return head;
    }

    /// <summary>
    /// The starting model, placed on the run's device in its dtype: loaded from <c>model.path</c>, or a fresh tiny GPT-2
    /// built from <c>training.seed</c> (so every call gives the same weights).
    /// </summary>
    public static CausalLM StartingModel(RunConfig config, ITokenizer tokenizer, ComputeTarget target)
    {
        if (config.Model.Path is { } path) return Load(path, target).Model;
        var m = config.Model;
        return FreshModel(ModelConfig.TinyGpt2(tokenizer.VocabSize, m.HiddenSize, m.NumLayers, m.NumHeads, m.MaxPositions),
            config.Training.Seed, target);
    }

    /// <summary>A randomly initialised model of <paramref name="architecture"/> from torch's generator seeded with <paramref name="seed"/>, placed on the target.</summary>
    public static CausalLM FreshModel(ModelConfig architecture, long seed, ComputeTarget target)
    {
        torch.manual_seed(seed);
        return Place(ModelFactory.Create(architecture), target);
    }

    /// <summary>Loads a Hugging Face folder onto the target's device and dtype.</summary>
    public static LoadedModel Load(string dir, ComputeTarget target)
    {
        var loaded = HfCheckpoint.Load(dir, new HfLoadOptions { DType = target.DType, Device = target.Device });
        loaded.Model.UseMatmulDType(target.MatmulDType);
        return loaded;
    }

    /// <summary>Moves a freshly built model to the target's dtype and device.</summary>
    public static T Place<T>(T model, ComputeTarget target) where T : CausalLM
    {
        if (target.DType != torch.ScalarType.Float32) model.to(target.DType);
        if (target.Device.type != DeviceType.CPU) model.to(target.Device);
        model.UseMatmulDType(target.MatmulDType);
        return model;
    }

    /// <summary>
    /// The reference strategy: none for reference-free objectives; a frozen copy run every step (<c>reference:
    /// frozen</c>); or log-probs precomputed once for the rows of <paramref name="examples"/> (pairs or unpaired
    /// examples; per token too when the objective requests per-token log-probs) and cached on disk (the default).
    /// Rows built per batch (KTO's mismatched rows) are added to the cache as batches arrive. Under
    /// <paramref name="collectives"/> of several ranks, each rank runs the reference on its share of the rows.
    /// </summary>
    /// <remarks>
    /// Under an adapter (and without <c>reference_path</c>) the reference is the policy with its adapter disabled: run
    /// every step (<c>frozen</c>) or cached once; no second copy of the model is built.
    /// </remarks>
    public static IReferenceStrategy Reference(RunConfig config, IPreferenceObjective objective, ITokenizer tokenizer,
        ComputeTarget target, IReadOnlyList<IExampleSet> examples, int padId, ITrainingObserver observer,
        LoraAdapter? adapter = null, ICollectives? collectives = null)
    {
        var comm = collectives ?? SingleProcess.Instance;
        if (!objective.NeedsReference) return new NoReference();
        bool fromAdapter = adapter is not null && config.ReferencePath is null;
        if (fromAdapter && config.Reference == ReferenceKind.Frozen) return new AdapterDisabledReference(adapter!);
        if (!fromAdapter && config.Reference == ReferenceKind.Frozen)
        {
            var frozen = new FrozenReference(ReferenceModel(config, tokenizer, target));
            frozen.Distribute(comm);
            return frozen;
        }
        var cached = fromAdapter
            ? new CachedReference(adapter!.Model, ReferenceCacheRoot, adapter.Disable)
            : new CachedReference(ReferenceModel(config, tokenizer, target), ReferenceCacheRoot);
        cached.Distribute(comm);
        bool perToken = objective.Inputs.Any(r => r is CompletionTokenLogProbs or Objectives.TokenLevel.ResponseTreeInputs
            or Objectives.TokenLevel.ResponseTokenLogProbs);
        foreach (var set in examples) cached.Precompute(set, config.Training.BatchSize, padId, perToken);
        observer.OnMessage($"reference log-probs: {cached.LoadedRows} rows from cache, {cached.Forwards} reference " +
            $"batches computed ({cached.CacheFile})");
        return cached;
    }

    /// <summary>
    /// Next-token training (pretraining or SFT) of the run's starting model on plain <paramref name="texts"/> through the
    /// one LM trainer (<see cref="LanguageModelTrainer"/>, <c>training.*</c> settings): each text becomes BOS + text + EOS,
    /// cut to the model's positions. Returns the trained model on the run's device; the caller owns it.
    /// </summary>
    public static CausalLM TrainLanguageModel(RunConfig config, IReadOnlyList<string> texts, Action<int, double>? onStep = null)
    {
        var target = ComputeTarget.From(config);
        var tokenizer = RunTokenizer.Load(RunTokenizer.SpecOf(config));
        var model = StartingModel(config, tokenizer, target);
        try
        {
            int max = model.Config.MaxPositions;
            int eos = tokenizer.EosId ?? PadRule.IdFor(tokenizer);
            var rows = texts.Select(t => tokenizer.AddSpecialTokensOnce(t).Append(eos).Take(max).ToArray()).ToList();
            LanguageModelTrainer.Train(model, rows, config.Training, PadRule.IdFor(tokenizer), onStep);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Reference log-prob caches shared by runs.</summary>
    public static string ReferenceCacheRoot => CacheDirectory.For("reference-logps");

    /// <summary>
    /// The run's adapter (<c>adapter:</c>): fresh with A drawn under <c>training.seed</c>, or loaded from
    /// <c>adapter.path</c>; null for full fine-tuning. The policy's base is frozen by it.
    /// </summary>
    public static LoraAdapter? Adapter(RunConfig config, CausalLM policy, ITrainingObserver observer)
    {
        var lora = LoraOptionsOf(config.Adapter);
        if (lora is null)
            return config.Adapter.Path is null ? null
                : throw new ConfigException("adapter.path: an adapter folder needs adapter.type: lora");
        var adapter = AdapterRun.Attach(policy, lora, config.Adapter.Path, config.Training.Seed);
        observer.OnMessage($"adapter: LoRA r {adapter.Options.R} on {adapter.AdaptedModules.Count} modules "
            + $"({string.Join(", ", adapter.TargetModules)}), {adapter.NamedParameters.Sum(p => p.Parameter.numel())} "
            + "trainable parameters; base frozen");
        return adapter;
    }

    /// <summary>The adapter settings of an <c>adapter:</c> section, or null for full fine-tuning.</summary>
    public static LoraOptions? LoraOptionsOf(AdapterSection a) => a.Type == AdapterKind.None ? null : new()
    {
        R = a.R, Alpha = a.Alpha, Dropout = a.Dropout, TargetModules = a.TargetModules, UseRsLora = a.UseRslora,
        ModulesToSave = a.ModulesToSave,
    };

    /// <summary>The reference model: the <c>reference_path</c> folder when given, else the starting model again.</summary>
    public static CausalLM ReferenceModel(RunConfig config, ITokenizer tokenizer, ComputeTarget target) =>
        config.ReferencePath is { } dir ? Load(dir, target).Model : StartingModel(config, tokenizer, target);

}
