using AlignSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using TensorModule = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace AlignSharp.Adapters;

/// <summary>
/// LoRA (Hu et al. 2021, https://arxiv.org/abs/2106.09685) on a <see cref="CausalLM"/>: each target projection
/// y = W x + b becomes y = W x + b + s · B (A · dropout(x)), with A (r, in) Kaiming-uniform (a = √5, as PEFT and
/// nn.Linear initialise it), B (out, r) zero, so the adapted model starts equal to the base; s = alpha / r, or
/// alpha / √r with rsLoRA. GPT-2's Conv1D stores W as (in, out); A and B keep PEFT's (r, in) / (out, r) layout there
/// too and only the merge transposes.
/// <para>
/// The adapter is attached through forward hooks on the target modules (families call their projections with
/// <c>call</c>), so the model's own state dict, its Hugging Face save and its weight hash stay the base's. The base
/// is frozen: its parameters get no gradient and are never given to the optimizer. With <see cref="Enabled"/> off the
/// hooks change nothing, so the model computes exactly the base (the DPO reference without a second copy).
/// <c>modules_to_save</c> modules are trained as full copies that replace the original's output while enabled.
/// </para>
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    /// <summary>PEFT's key prefix for a causal LM (<c>PeftModelForCausalLM.base_model.model</c>).</summary>
    public const string KeyPrefix = "base_model.model.";

    private readonly List<LoraLayer> layers = [];
    private readonly List<SavedCopy> copies = [];
    private readonly List<Action> removeHooks = [];

    private LoraAdapter(CausalLM model, LoraOptions options, IReadOnlyList<string> targets)
    {
        Model = model;
        Options = options;
        TargetModules = targets;
    }

    /// <summary>The adapted model (not owned: the caller disposes it).</summary>
    public CausalLM Model { get; }

    /// <summary>The settings this adapter was built with.</summary>
    public LoraOptions Options { get; }

    /// <summary>The target module names in effect (the options' or the family's defaults).</summary>
    public IReadOnlyList<string> TargetModules { get; }

    /// <summary>Module paths carrying a LoRA pair, in model order.</summary>
    public IReadOnlyList<string> AdaptedModules => [.. layers.Select(l => l.Path)];

    /// <summary>When false, the hooks are inert and the model computes the base exactly.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Trainable parameters with PEFT's saved names (without <see cref="KeyPrefix"/>): <c>PATH.lora_A.weight</c>,
    /// <c>PATH.lora_B.weight</c>, and <c>PATH.weight</c> / <c>PATH.bias</c> for <c>modules_to_save</c> copies.
    /// </summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters =>
    [
        .. layers.SelectMany(l => new[] { ($"{l.Path}.lora_A.weight", l.A), ($"{l.Path}.lora_B.weight", l.B) }),
        .. copies.SelectMany(c => c.Parameters.Select(p => ($"{c.Path}.{p.Key}", p.Value))),
    ];

    /// <summary>
    /// Freezes <paramref name="model"/> and attaches a fresh adapter, A drawn from <paramref name="generator"/> (torch's
    /// default generator when null). Targets default to the family's; a target or saved module the model lacks is an
    /// <see cref="AdapterException"/> listing the module names it has.
    /// </summary>
    public static LoraAdapter Attach(CausalLM model, LoraOptions options, Generator? generator = null)
    {
        options.Validate();
        var targets = options.TargetModules ?? LoraDefaults.TargetModules(model.Config);
        var modules = model.named_modules().Where(m => m.name.Length > 0).ToList();
        foreach (var t in targets)
        {
            var hits = modules.Where(m => Matches(m.name, t)).ToList();
            if (hits.Count == 0) throw NoSuchModule("adapter.target_modules", t, model);
            foreach (var (name, module) in hits)
            {
                if (module is not (Linear or Projection or Conv1D))
                    throw new AdapterException($"adapter.target_modules: '{t}' matches '{name}', a {module.GetType().Name}; "
                        + $"LoRA adapts Linear and Conv1D modules: {string.Join(", ", ModuleNames(model))}");
            }
        }
        foreach (var t in options.ModulesToSave)
            if (!modules.Any(m => Matches(m.name, t))) throw NoSuchModule("adapter.modules_to_save", t, model);
        var adapter = new LoraAdapter(model, options, targets);
        var frozen = model.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in frozen) p.requires_grad = false;
        try
        {
            foreach (var (name, module) in modules.Where(m => targets.Any(t => Matches(m.name, t))))
                adapter.AddLayer(name, (TensorModule)module, generator);
            foreach (var t in options.ModulesToSave)
                foreach (var (name, module) in modules.Where(m => Matches(m.name, t))) adapter.AddCopy(name, module, t);
            return adapter;
        }
        catch
        {
            adapter.Dispose();
            foreach (var p in frozen) p.requires_grad = true;
            throw;
        }
    }

    /// <summary>Disables the adapter until the returned scope is disposed (then restores the previous state).</summary>
    public IDisposable Disable()
    {
        bool was = Enabled;
        Enabled = false;
        return new Restore(() => Enabled = was);
    }

    /// <summary>
    /// The adapter's tensors under PEFT's saved names (with <see cref="KeyPrefix"/>), detached, in float32 for LoRA pairs;
    /// the caller disposes them.
    /// </summary>
    public Dictionary<string, Tensor> StateDict() =>
        NamedParameters.ToDictionary(p => KeyPrefix + p.Name, p => p.Parameter.detach().clone(), StringComparer.Ordinal);

    /// <summary>Expected shapes by saved key (with <see cref="KeyPrefix"/>), for checking a file before loading it.</summary>
    public IReadOnlyDictionary<string, long[]> ExpectedShapes() =>
        NamedParameters.ToDictionary(p => KeyPrefix + p.Name, p => p.Parameter.shape, StringComparer.Ordinal);

    /// <summary>Copies <paramref name="tensors"/> (saved keys, shapes already checked) into the adapter's parameters.</summary>
    internal void CopyFrom(IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var _ = no_grad();
        foreach (var (name, p) in NamedParameters) p.copy_(tensors[KeyPrefix + name]);
    }

    /// <summary>
    /// Folds the adapter into the base weights (W += s·B·A, transposed for Conv1D; saved copies overwrite their
    /// originals) and detaches it: afterwards the model alone computes what the adapted model computed.
    /// </summary>
    public void MergeIntoBase()
    {
        using (no_grad())
        {
            foreach (var l in layers)
            {
                using var scope = NewDisposeScope();
                var w = l.BaseWeight;
                var delta = (l.B.matmul(l.A) * Options.Scaling).to(w.dtype); // (out, r) @ (r, in) -> (out, in)
                w.add_(l.Transposed ? delta.t() : delta); // Conv1D stores (in, out)
            }
            foreach (var c in copies)
                foreach (var (key, p) in c.Parameters) c.Originals[key].copy_(p);
        }
        Dispose();
    }

    /// <summary>Removes the hooks (the model computes the base again) and frees the adapter's tensors.</summary>
    public void Dispose()
    {
        foreach (var remove in removeHooks) remove();
        removeHooks.Clear();
        foreach (var l in layers) { l.A.Dispose(); l.B.Dispose(); }
        foreach (var c in copies) foreach (var p in c.Parameters.Values) p.Dispose();
        layers.Clear();
        copies.Clear();
    }

    /// <summary>Names (last path segment) of the Linear and Conv1D modules of <paramref name="model"/>, sorted.</summary>
    public static IReadOnlyList<string> ModuleNames(CausalLM model) =>
    [
        .. model.named_modules().Where(m => m.module is Linear or Projection or Conv1D)
            .Select(m => m.name[(m.name.LastIndexOf('.') + 1)..]).Distinct().Order(StringComparer.Ordinal),
    ];

    /// <summary>PEFT's rule: a module matches a target when its path equals it or ends with "." + target.</summary>
    internal static bool Matches(string path, string target) =>
        path == target || path.EndsWith("." + target, StringComparison.Ordinal);

    private static AdapterException NoSuchModule(string key, string target, CausalLM model) =>
        new($"{key}: model_type '{model.Config.ModelType}' has no module '{target}'; its Linear/Conv1D modules are: "
            + string.Join(", ", ModuleNames(model)));

    private void AddLayer(string path, TensorModule module, Generator? generator)
    {
        var (weight, transposed) = module switch
        {
            Linear lin => (lin.weight!, false),
            Projection proj => (proj.Weight, false),
            Conv1D conv => (conv.Weight, true),
            _ => throw new AdapterException($"{path}: not a Linear or Conv1D module"),
        };
        long inFeatures = transposed ? weight.shape[0] : weight.shape[1];
        long outFeatures = transposed ? weight.shape[1] : weight.shape[0];
        var a = new Parameter(torch.empty(Options.R, inFeatures, ScalarType.Float32, weight.device)); // (r, in)
        var b = new Parameter(torch.zeros(outFeatures, Options.R, ScalarType.Float32, weight.device)); // (out, r)
        // Kaiming-uniform with a = sqrt(5) (PEFT's and nn.Linear's init): bound = sqrt(6 / ((1 + a^2) fan_in)) = 1/sqrt(in).
        using (no_grad()) a.uniform_(-1 / Math.Sqrt(inFeatures), 1 / Math.Sqrt(inFeatures), generator);
        var layer = new LoraLayer(path, weight, transposed, a, b);
        layers.Add(layer);
        double scaling = Options.Scaling, dropout = Options.Dropout;
        var remover = module.register_forward_hook((m, input, output) =>
        {
            if (!Enabled) return null!;
            var x = input.to(ScalarType.Float32);
            if (dropout > 0 && m.training) x = F.dropout(x, dropout, training: true);
            var delta = F.linear(F.linear(x, a), b) * scaling; // (..., in) -> (..., r) -> (..., out)
            return output + delta.to(output.dtype);
        });
        removeHooks.Add(remover.remove);
        CountHeadHook(module);
    }

    private void AddCopy(string path, nn.Module module, string target)
    {
        var originals = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        Func<Tensor, IReadOnlyDictionary<string, Parameter>, Tensor> forward;
        switch (module)
        {
            case Linear lin:
                originals["weight"] = lin.weight!;
                if (lin.bias is { } lb) originals["bias"] = lb;
                forward = (x, p) => F.linear(x, p["weight"], p.GetValueOrDefault("bias"));
                break;
            case Projection proj: // a saved copy computes in float32 even under bfloat16 matmuls
                originals["weight"] = proj.Weight;
                if (proj.Bias is { } pb) originals["bias"] = pb;
                forward = (x, p) => F.linear(x, p["weight"], p.GetValueOrDefault("bias"));
                break;
            case Conv1D conv:
                originals["weight"] = conv.Weight;
                originals["bias"] = conv.Bias;
                forward = (x, p) => torch.addmm(p["bias"], x.reshape(-1, x.shape[^1]), p["weight"], 1, 1)
                    .reshape([.. x.shape[..^1], p["weight"].shape[1]]); // (..., in) -> (..., out)
                break;
            default:
                throw new AdapterException($"adapter.modules_to_save: '{target}' matches '{path}', a "
                    + $"{module.GetType().Name}; only Linear and Conv1D modules can be saved");
        }
        var trained = originals.ToDictionary(o => o.Key, o => new Parameter(o.Value.detach().clone()),
            StringComparer.Ordinal);
        copies.Add(new SavedCopy(path, trained, originals));
        var remover = ((TensorModule)module).register_forward_hook((_, input, _) => Enabled ? forward(input, trained) : null!);
        removeHooks.Add(remover.remove);
        CountHeadHook(module);
    }

    /// <summary>A hook on the LM head's module makes the head not plain (<see cref="CausalLM.PlainHeadWeight"/>) until removed.</summary>
    private void CountHeadHook(nn.Module module)
    {
        if (!ReferenceEquals(module, Model.HeadModule)) return;
        Model.HeadHooks++;
        removeHooks.Add(() => Model.HeadHooks--);
    }

    /// <summary>One adapted projection: its base weight (frozen) and the LoRA pair.</summary>
    private sealed record LoraLayer(string Path, Parameter BaseWeight, bool Transposed, Parameter A, Parameter B);

    /// <summary>A <c>modules_to_save</c> copy: trained parameters and the originals they shadow.</summary>
    private sealed record SavedCopy(string Path, Dictionary<string, Parameter> Parameters,
        Dictionary<string, Parameter> Originals);

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
