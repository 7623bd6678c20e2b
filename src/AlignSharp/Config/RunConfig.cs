using AlignSharp.Objectives;
using AlignSharp.Training;
using YamlDotNet.RepresentationModel;

namespace AlignSharp.Config;

/// <summary>Which model to start from: an HF folder, or a fresh tiny model built from a seed.</summary>
public sealed record ModelSection
{
    /// <summary>Hugging Face model folder (config.json + safetensors); when null a fresh model is built.</summary>
    [Setting("Hugging Face model folder (config.json + safetensors, as saved by transformers); its tokenizer is used " +
        "unless 'tokenizer' says otherwise. Null: a fresh GPT-2 of the sizes below.", Trl = "model_name_or_path")]
    public string? Path { get; init; }

    /// <summary>Width of a fresh GPT-2 shaped model (used when <see cref="Path"/> is null).</summary>
    [Setting("Width of a fresh model (when path is null); a multiple of num_heads.", Min = 1)]
    public int HiddenSize { get; init; } = 64;

    /// <summary>Decoder blocks of a fresh model.</summary>
    [Setting("Decoder blocks of a fresh model (when path is null).", Min = 1)]
    public int NumLayers { get; init; } = 2;

    /// <summary>Attention heads of a fresh model.</summary>
    [Setting("Attention heads of a fresh model (when path is null).", Min = 1)]
    public int NumHeads { get; init; } = 4;

    /// <summary>Positions (context length) of a fresh model.</summary>
    [Setting("Positions (context length) of a fresh model (when path is null).", Min = 1)]
    public int MaxPositions { get; init; } = 256;

    /// <summary>Parameter dtype of the policy and the reference: float32 (default) or bfloat16 (saved as BF16 safetensors).</summary>
    [Setting("Parameter dtype of the policy and the reference (bfloat16 takes log-probs in float32 and saves BF16).",
        Trl = "dtype, torch_dtype")]
    public ModelDType Dtype { get; init; } = ModelDType.Float32;
}

/// <summary>Parameter dtype of a run's models.</summary>
public enum ModelDType
{
    /// <summary>32-bit floats (the default).</summary>
    Float32,
    /// <summary>bfloat16 parameters; log-softmax and log-prob sums are taken in float32.</summary>
    Bfloat16,
}

/// <summary>Where the preference pairs come from and how they are cut.</summary>
public sealed record DataSection
{
    /// <summary>Training records: a file (.jsonl[.gz], .json, .parquet), a folder of shards or a glob, in any format of <see cref="AlignSharp.Data.Formats.DataFormat"/>.</summary>
    [Setting("Training records: a file (.jsonl, .jsonl.gz, .json, .parquet), a folder of shards or a glob " +
        "(docs/data.md).", Trl = "dataset_name, train_dataset")]
    public string? Train { get; init; }

    /// <summary>Held-out records; when null, <see cref="EvalFraction"/> of the training records are held out.</summary>
    [Setting("Held-out records, like train; null: eval_fraction of the training records are held out.",
        Trl = "dataset_test_split, eval_dataset")]
    public string? Eval { get; init; }

    /// <summary>Fraction of the training records held out for evaluation when <see cref="Eval"/> is null.</summary>
    [Setting("Fraction of the training records held out for evaluation (under the seed) when eval is null.",
        Min = 0, Max = 1, MaxExclusive = true)]
    public double EvalFraction { get; init; }

    /// <summary>Maximum tokens of prompt + completion per row.</summary>
    [Setting("Maximum tokens of prompt + completion per row (longer pairs are truncated, TRL's way).",
        Trl = "max_length", Min = 2)]
    public int MaxLength { get; init; } = 256;

    /// <summary>Prompt tokens kept when a pair is too long (default: half of <see cref="MaxLength"/>).</summary>
    [Setting("Prompt tokens kept when a pair is too long; null: half of max_length. Less than max_length.",
        Trl = "max_prompt_length", Min = 1)]
    public int? MaxPromptLength { get; init; }

    /// <summary>Which end of a long prompt is kept: keep_end (default) or keep_start.</summary>
    [Setting("Which end of a long prompt is kept.", Trl = "truncation_mode")]
    public AlignSharp.Data.TruncationMode TruncationMode { get; init; } = AlignSharp.Data.TruncationMode.KeepEnd;

    /// <summary>Record layout: auto (detected), explicit, implicit, conversational, ranked.</summary>
    [Setting("Record layout; auto detects it from the first record (docs/data.md).")]
    public AlignSharp.Data.Formats.DataFormat Format { get; init; } = AlignSharp.Data.Formats.DataFormat.Auto;

    /// <summary>skip (report bad records and go on) or fail (stop at the first).</summary>
    [Setting("A bad record: skip (report it with file and line, go on) or fail (stop at the first).")]
    public AlignSharp.Data.Validation.BadRecordPolicy OnBadRecord { get; init; } = AlignSharp.Data.Validation.BadRecordPolicy.Skip;

    /// <summary>How ranked records become pairs: best_vs_worst, best_vs_each, all_pairs.</summary>
    [Setting("How ranked records (several scored completions) become pairs.")]
    public AlignSharp.Data.Formats.RankedPairing Pairing { get; init; } = AlignSharp.Data.Formats.RankedPairing.BestVsWorst;

    /// <summary>
    /// The chat template for conversational records: null for the tokenizer folder's own, <c>plain</c> for
    /// <see cref="AlignSharp.Data.Chat.PlainChatFormatter"/>, or a .jinja file, a tokenizer_config.json or a folder
    /// holding one. Conversational data with no template at all is an error naming this key.
    /// </summary>
    [Setting("Chat template for conversational records: null: the tokenizer folder's own (none there and conversational " +
        "data is an error); \"plain\": the built-in <|role|> template; or a .jinja file, or a tokenizer_config.json or " +
        "folder holding one. Saved into checkpoint-N/ and final/.", Trl = "chat_template_path")]
    public string? ChatTemplate { get; init; }

    /// <summary>For KTO: split each pair into a desirable (chosen) and an undesirable (rejected) example.</summary>
    [Setting("For KTO-style objectives: split each pair into a desirable (chosen) and an undesirable (rejected) example.")]
    public bool Unpair { get; init; }
}

/// <summary>Which parameters a run trains.</summary>
public enum AdapterKind
{
    /// <summary>Every parameter (full fine-tuning; the default).</summary>
    None,
    /// <summary>A LoRA adapter on a frozen base (PEFT's format; see docs/adapters.md).</summary>
    Lora,
}

/// <summary>
/// <c>adapter: {type: lora, r, alpha, dropout, target_modules, use_rslora, modules_to_save, path}</c>. Names and
/// defaults follow PEFT's <c>LoraConfig</c> (r 8, lora_alpha 8, dropout 0; targets default per family).
/// </summary>
public sealed record AdapterSection
{
    /// <summary>none (full fine-tuning) or lora.</summary>
    [Setting("none (full fine-tuning) or lora (a LoRA adapter on a frozen base; docs/adapters.md).", Trl = "use_peft")]
    public AdapterKind Type { get; init; } = AdapterKind.None;

    /// <summary>Rank of the update.</summary>
    [Setting("Rank of the LoRA update.", Trl = "lora_r", Min = 1)]
    public int R { get; init; } = 8;

    /// <summary>Scaling numerator (PEFT's lora_alpha): the update is scaled by alpha / r.</summary>
    [Setting("Scaling numerator: the update is scaled by alpha / r (alpha / sqrt(r) with use_rslora).",
        Trl = "lora_alpha", Min = 0, MinExclusive = true)]
    public double Alpha { get; init; } = 8;

    /// <summary>Dropout on the adapter's input while training.</summary>
    [Setting("Dropout on the adapter's input while training.", Trl = "lora_dropout", Min = 0, Max = 1, MaxExclusive = true)]
    public double Dropout { get; init; }

    /// <summary>Module names to adapt (null: the family's defaults, e.g. q_proj and v_proj, or GPT-2's c_attn).</summary>
    [Setting("Module names to adapt; null: the family's defaults (q_proj, v_proj; GPT-2's c_attn).",
        Trl = "lora_target_modules")]
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary>Scale by alpha / sqrt(r) (rank-stabilised LoRA).</summary>
    [Setting("Scale by alpha / sqrt(r) (rank-stabilised LoRA).", Trl = "use_rslora")]
    public bool UseRslora { get; init; }

    /// <summary>Modules trained in full as copies and saved in the adapter file (e.g. lm_head).</summary>
    [Setting("Modules trained in full as copies and saved in the adapter file (e.g. lm_head).",
        Trl = "lora_modules_to_save")]
    public IReadOnlyList<string> ModulesToSave { get; init; } = [];

    /// <summary>An adapter folder (ours or PEFT's) to start from instead of a fresh adapter; its settings win.</summary>
    [Setting("An adapter folder (ours or PEFT's) to start from instead of a fresh adapter; its settings win.")]
    public string? Path { get; init; }
}

/// <summary>Where reference log-probs come from.</summary>
public enum ReferenceKind
{
    /// <summary>Precomputed once and cached on disk (the default: no reference forward after the first pass).</summary>
    Cached,
    /// <summary>A frozen copy run every step, as TRL does by default.</summary>
    Frozen,
}

/// <summary>One objective with its weight and parameters, as written in the config.</summary>
public sealed record ObjectiveSpec(string Name, double Weight, IReadOnlyDictionary<string, string> Params, string Where)
{
    /// <summary>Where each parameter was given (file:line or --set), for error messages.</summary>
    public IReadOnlyDictionary<string, string> ParamWhere { get; init; } = new Dictionary<string, string>();

    /// <summary>The place to blame for an error message that names a parameter.</summary>
    public string Blame(string message) =>
        ParamWhere.Where(kv => message.Contains($"'{kv.Key}'")).Select(kv => kv.Value).FirstOrDefault() ?? Where;
}

/// <summary>A training run's configuration: immutable, defaults in the section records, loaded from YAML with overrides.</summary>
public sealed record RunConfig
{
    public ModelSection Model { get; init; } = new();
    /// <summary>"byte" for the built-in byte tokenizer, or a folder holding tokenizer.json (defaults to the model folder).</summary>
    public string? Tokenizer { get; init; }
    public DataSection Data { get; init; } = new();
    public ReferenceKind Reference { get; init; } = ReferenceKind.Cached;
    /// <summary>
    /// A separate reference model folder (optional). Without it the reference is the starting model; under an adapter,
    /// the policy itself with the adapter disabled (no second copy).
    /// </summary>
    public string? ReferencePath { get; init; }
    /// <summary>Full fine-tuning (default) or an adapter on a frozen base.</summary>
    public AdapterSection Adapter { get; init; } = new();
    public TrainingOptions Training { get; init; } = new();
    /// <summary>Where metrics, checkpoints and the final model go.</summary>
    public string OutputDir { get; init; } = "runs/alignsharp";
    /// <summary>The objective(s); one entry unless a weighted combination is configured.</summary>
    public IReadOnlyList<ObjectiveSpec> Objectives { get; init; } = [new("dpo", 1.0, new Dictionary<string, string>(), "default")];

    /// <summary>
    /// Where each value was given ("file:line" or the <c>--set</c>), by dotted key, for errors raised after binding.
    /// Not part of the config's identity (not saved in run_config.json, not compared on resume).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyDictionary<string, string> Places { get; init; } = new Dictionary<string, string>();

    /// <summary>Where <paramref name="key"/> was given, or "config" when it kept its default.</summary>
    public string PlaceOf(string key) => Places.TryGetValue(key, out var where) ? where : "config";

    /// <summary>Loads <paramref name="path"/> and applies <c>--set key=value</c> overrides in order.</summary>
    public static RunConfig Load(string path, IEnumerable<string>? overrides = null)
    {
        var tree = ConfigTree.Load(path);
        foreach (var o in overrides ?? []) tree.Set(o);
        return FromTree(tree);
    }

    /// <summary>Binds a parsed tree; every key must be known.</summary>
    public static RunConfig FromTree(ConfigTree tree)
    {
        var sections = new Dictionary<string, YamlNode>();
        foreach (var (k, v) in tree.Root.Children) sections[((YamlScalarNode)k).Value ?? ""] = v;
        var known = new[]
        {
            "model", "tokenizer", "data", "reference", "reference_path", "adapter", "training", "output_dir", "objective",
            "objectives",
        };
        foreach (var (k, _) in tree.Root.Children)
            if (!known.Contains(((YamlScalarNode)k).Value))
            {
                string key = ((YamlScalarNode)k).Value ?? "";
                string hint = ConfigSchema.Suggest(key) is { } h ? $"{h}; sections: " : "sections: ";
                throw new ConfigException($"{tree.Where(k)}: unknown key '{key}' ({hint}{string.Join(", ", known)})");
            }

        Func<string, string?> suggest = ConfigSchema.Suggest;
        var scalars = ConfigBinder.Bind<TopLevelSection>(tree,
            Filter(tree.Root, "tokenizer", "reference", "reference_path", "output_dir"), "", suggest);
        var config = new RunConfig
        {
            Model = ConfigBinder.Bind<ModelSection>(tree, Mapping(tree, sections, "model"), "model", suggest),
            Data = ConfigBinder.Bind<DataSection>(tree, Mapping(tree, sections, "data"), "data", suggest),
            Training = ConfigBinder.Bind<TrainingOptions>(tree, Mapping(tree, sections, "training"), "training", suggest),
            Adapter = ConfigBinder.Bind<AdapterSection>(tree, Mapping(tree, sections, "adapter"), "adapter", suggest),
            ReferencePath = scalars.ReferencePath,
            Tokenizer = scalars.Tokenizer,
            Reference = scalars.Reference,
            OutputDir = scalars.OutputDir,
            Places = FindPlaces(tree),
        };
        config.CheckAcrossKeys();
        if (sections.ContainsKey("objective") && sections.ContainsKey("objectives"))
            throw new ConfigException($"{tree.Source}: give either 'objective' or 'objectives', not both");
        if (sections.TryGetValue("objective", out var one)) config = config with { Objectives = [Objective(tree, one, "objective")] };
        if (sections.TryGetValue("objectives", out var many))
        {
            if (many is not YamlSequenceNode seq || seq.Children.Count == 0)
                throw new ConfigException($"{tree.Where(many)}: 'objectives' must be a non-empty list of {{name, weight, ...}}");
            config = config with { Objectives = seq.Children.Select((n, i) => Objective(tree, n, $"objectives[{i}]")).ToList() };
        }
        return config;
    }

    /// <summary>Creates the objective this config names (validating its parameters; errors name the config place).</summary>
    public IPreferenceObjective CreateObjective()
    {
        var created = Objectives.Select(spec =>
        {
            try { return (Objective: ObjectiveCatalog.Create(spec.Name, new ObjectiveParams(spec.Params)), spec.Weight); }
            catch (ObjectiveException e) { throw new ConfigException($"{spec.Blame(e.Message)}: {e.Message}"); }
        }).ToList();
        if (created.Count == 1 && created[0].Weight == 1.0) return created[0].Objective;
        try { return new CombinedObjective(created); }
        catch (ObjectiveException e) { throw new ConfigException($"{Objectives[0].Where}: {e.Message}"); }
    }

    private static ObjectiveSpec Objective(ConfigTree tree, YamlNode node, string key)
    {
        if (node is not YamlMappingNode m) throw new ConfigException($"{tree.Where(node)}: '{key}' must be a mapping like {{name: dpo, beta: 0.1}}");
        string? name = null;
        double weight = 1.0;
        var ps = new Dictionary<string, string>();
        var where = new Dictionary<string, string>();
        foreach (var (k, v) in m.Children)
        {
            string kk = ((YamlScalarNode)k).Value ?? "";
            string value = v is YamlScalarNode s ? s.Value ?? "" : throw new ConfigException($"{tree.Where(v)}: '{key}.{kk}' must be a single value");
            if (kk == "name") name = value;
            else if (kk == "loss_type")
                throw new ConfigException($"{tree.Where(k)}: '{key}.loss_type' is TRL's name; here the objective is " +
                    $"'{key}.name' (TRL's sigmoid is dpo, ipo is ipo, hinge is hinge, robust is robust_dpo; every id: " +
                    "docs/objectives.md)");
            else if (kk == "weight")
                weight = double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var w) ? w
                    : throw new ConfigException($"{tree.Where(v)}: '{key}.weight' must be a number, got '{value}'");
            else
            {
                ps[kk] = value;
                where[kk] = tree.Where(k);
            }
        }
        return new ObjectiveSpec(name ?? throw new ConfigException($"{tree.Where(node)}: '{key}' needs a 'name' (e.g. dpo)"), weight, ps, tree.Where(node)) { ParamWhere = where };
    }

    /// <summary>Where each key of the tree was written (file:line or the --set), by dotted key.</summary>
    private static Dictionary<string, string> FindPlaces(ConfigTree tree)
    {
        var places = new Dictionary<string, string>();
        foreach (var (k, v) in tree.Root.Children)
        {
            string name = ((YamlScalarNode)k).Value ?? "";
            places[name] = tree.Where(v);
            if (v is YamlMappingNode m)
                foreach (var (kk, vv) in m.Children)
                    places[$"{name}.{((YamlScalarNode)kk).Value}"] = tree.Where(vv);
        }
        return places;
    }

    /// <summary>Rules that tie two keys together (each key's own range is checked when it is bound).</summary>
    private void CheckAcrossKeys()
    {
        if (Data.MaxPromptLength is { } prompt && prompt >= Data.MaxLength)
            throw new ConfigException($"{PlaceOf("data.max_prompt_length")}: 'data.max_prompt_length' ({prompt}) must " +
                $"be less than data.max_length ({Data.MaxLength}), or no completion token would be kept");
        if (Model.Path is null && Model.HiddenSize % Model.NumHeads != 0)
            throw new ConfigException($"{PlaceOf("model.hidden_size")}: 'model.hidden_size' ({Model.HiddenSize}) must be " +
                $"a multiple of model.num_heads ({Model.NumHeads})");
    }

    private static YamlMappingNode? Mapping(ConfigTree tree, Dictionary<string, YamlNode> sections, string key) =>
        !sections.TryGetValue(key, out var n) ? null
            : n as YamlMappingNode ?? throw new ConfigException($"{tree.Where(n)}: '{key}' must be a section (a mapping)");

    private static YamlMappingNode Filter(YamlMappingNode root, params string[] keys)
    {
        var m = new YamlMappingNode();
        foreach (var (k, v) in root.Children)
            if (keys.Contains(((YamlScalarNode)k).Value)) m.Children[k] = v;
        return m;
    }

}

/// <summary>The top-level single values of a run config, bound like a section.</summary>
internal sealed record TopLevelSection
{
    [Setting("\"byte\" (the built-in byte tokenizer), a folder with tokenizer.json (or a SentencePiece model) or a " +
        "tokenizer.json file; null: model.path's folder. The chat template comes from the same folder.",
        Trl = "tokenizer_name_or_path, processing_class")]
    public string? Tokenizer { get; init; }

    [Setting("cached: reference log-probs computed once and kept on disk; frozen: a frozen copy run every step (TRL's " +
        "default).", Trl = "precompute_ref_log_probs")]
    public ReferenceKind Reference { get; init; } = ReferenceKind.Cached;

    [Setting("A separate reference model folder; null: the starting model (under an adapter: the base with the " +
        "adapter disabled).", Trl = "ref_model")]
    public string? ReferencePath { get; init; }

    [Setting("Where metrics.jsonl, checkpoint-N/ and final/ go.", Trl = "output_dir")]
    public string OutputDir { get; init; } = "runs/alignsharp";
}
