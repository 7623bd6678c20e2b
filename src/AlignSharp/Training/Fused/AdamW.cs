using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AlignSharp.Training.Fused;

/// <summary>
/// AdamW whose parameters, gradients and moments live in one flat buffer per parameter group (and dtype/device): each
/// parameter, its gradient and TorchSharp's per-parameter moments are views into those buffers, so a step is a
/// handful of kernels over the whole group (decay, moment updates, denominator, update) instead of a loop of small ones
/// per tensor. The arithmetic is TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> step, op for op, applied to the flat buffers; the
/// optimizer state (per-parameter step counts and moments) is TorchSharp's own, so checkpoints save and load exactly
/// as with the per-parameter optimizer. When a group's parameters do not all have a gradient, or their step counts
/// differ, that step falls back to the per-parameter loop, which skips gradient-less parameters as before.
/// Gradients start out as autograd makes them; the first step copies them into the flat buffer and points each
/// parameter's gradient at its view, so from then on backward accumulates in place into the buffer (autograd adds into
/// an existing gradient in place; code that replaces a gradient tensor instead of writing into it would detach it
/// from the buffer, and nothing in the library does; clearing one to null is detected).
/// </summary>
/// <remarks>
/// The class is named <c>AdamW</c> (in <c>AlignSharp.Training.Fused</c>) on purpose: TorchSharp writes the optimizer's
/// class name at the head of its state file and refuses a file of another name, so this name keeps checkpoints of
/// the per-parameter optimizer and of this one interchangeable.
/// </remarks>
public sealed class AdamW : TorchSharp.Modules.AdamW
{
    private readonly List<FlatGroup> flats = [];

    /// <summary>One group's flat buffers and the parameters that view them.</summary>
    private sealed class FlatGroup(ParamGroup group, Parameter[] members, Tensor values, Tensor grads)
    {
        public ParamGroup Group { get; } = group;
        public Parameter[] Members { get; } = members;
        public Tensor Values { get; } = values; // (N): every member's values
        public Tensor Grads { get; } = grads; // (N): every member's gradient
        public Tensor ExpAvg { get; set; } = null!; // (N)
        public Tensor ExpAvgSq { get; set; } = null!; // (N)
        public long[] Offsets { get; } = new long[members.Length];
        public bool Pointed { get; set; } // every member's gradient is its view of Grads
    }

    /// <summary>AdamW over <paramref name="groups"/> (TorchSharp's group options), with each group flattened.</summary>
    public AdamW(IEnumerable<ParamGroup> groups) : base(groups)
    {
        using var _ = no_grad();
        foreach (var group in ParamGroups.Cast<ParamGroup>())
            foreach (var members in group.Parameters.GroupBy(p => (p.dtype, p.device.ToString())))
                flats.Add(Flatten(group, [.. members]));
    }

    private FlatGroup Flatten(ParamGroup group, Parameter[] members)
    {
        long total = members.Sum(p => p.numel());
        var first = members[0];
        // TorchSharp's constructor gave each member zero moments; they are replaced by views of the flat moments below,
        // so free them first (construction then never holds both).
        foreach (var p in members)
        {
            var state = (State)_state[p.Handle];
            state.exp_avg.Dispose();
            state.exp_avg_sq.Dispose();
        }
        // Grads is empty, not zeros: its pages stay untouched (not resident) until the first step copies every member's
        // gradient in, so the first backward does not hold a second, unused copy of the gradients.
        var flat = new FlatGroup(group, members, empty(total, first.dtype, first.device), empty(total, first.dtype, first.device))
        {
            ExpAvg = zeros(total, first.dtype, first.device),
            ExpAvgSq = zeros(total, first.dtype, first.device),
        };
        long offset = 0;
        for (int i = 0; i < members.Length; i++)
        {
            var p = members[i];
            long n = p.numel();
            flat.Offsets[i] = offset;
            var value = flat.Values.narrow(0, offset, n).view(p.shape);
            value.copy_(p);
            p.set_(value); // the parameter now views the flat buffer (same values, same Parameter object)
            var state = (State)_state[p.Handle];
            state.exp_avg = flat.ExpAvg.narrow(0, offset, n).view(p.shape); // Load(reader) fills these views in place
            state.exp_avg_sq = flat.ExpAvgSq.narrow(0, offset, n).view(p.shape);
            offset += n;
        }
        return flat;
    }

    /// <summary>
    /// Zeros every gradient in place: one kernel per flat buffer once the gradients are its views, else per tensor as
    /// TorchSharp's optimizer does.
    /// </summary>
    public override void zero_grad()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var flat in flats)
        {
            if (flat.Pointed) { flat.Grads.zero_(); continue; }
            foreach (var p in flat.Members) p.grad?.zero_();
        }
    }

    /// <summary>
    /// One AdamW step: per flat group, decay, moments, denominator and update over the whole buffer (TorchSharp's
    /// formulas and order), after making sure each gradient is the flat buffer's view (a gradient another piece of code
    /// replaced is copied in and re-pointed).
    /// </summary>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (closure is not null) throw new NotSupportedException("the fused AdamW takes no closure");
        using var scope = NewDisposeScope(); // getter wrappers and temporaries
        bool fallback = false;
        using (no_grad())
            foreach (var flat in flats)
                fallback |= !Prepare(flat);
        if (fallback) return base.step(); // the per-parameter loop on the same views
        using var _ = no_grad();
        foreach (var flat in flats)
        {
            var options = (Options)flat.Group.Options;
            double lr = options.LearningRate!.Value, beta1 = options.beta1!.Value, beta2 = options.beta2!.Value;
            double eps = options.eps!.Value, decay = options.weight_decay!.Value;
            var states = flat.Members.Select(p => (State)_state[p.Handle]).ToArray();
            long step = states[0].step + 1;
            foreach (var s in states) s.step = step;
            double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
            long total = flat.Values.shape[0];
            for (long start = 0; start < total; start += Slice)
            {
                using var sliceScope = NewDisposeScope(); // the slice's views and its denominator
                long len = Math.Min(Slice, total - start);
                Tensor values = flat.Values.narrow(0, start, len), grads = flat.Grads.narrow(0, start, len);
                Tensor expAvg = flat.ExpAvg.narrow(0, start, len), expAvgSq = flat.ExpAvgSq.narrow(0, start, len);
                values.mul_(1 - lr * decay);
                expAvg.mul_(beta1).add_(grads, alpha: 1 - beta1);
                expAvgSq.mul_(beta2).addcmul_(grads, grads, value: 1 - beta2);
                var denom = expAvgSq.sqrt().div_(Math.Sqrt(bc2)).add_(eps); // (len): the only temporary
                values.addcdiv_(expAvg, denom, value: -(lr / bc1));
            }
        }
        return null!;
    }

    /// <summary>
    /// Elements per slice of the update. The step runs its six element-wise kernels slice by slice: the denominator
    /// temporary is one slice (4 MiB in float32), not a copy of the whole group (as large as the model) kept to the
    /// end of the step, and the four buffers' slices are reused from cache across the kernels instead of streaming the
    /// whole group from memory six times. A multiple of every vector width, so elements fall in the same vectorised
    /// bodies as over the whole buffer.
    /// </summary>
    internal const long Slice = 1L << 20;

    /// <summary>
    /// Points every member's gradient at its view of the flat buffer (copying autograd's tensor in) the first time all
    /// have one; false when the fused step cannot reproduce the per-parameter one: a member without gradient,
    /// amsgrad/maximize, or step counts that differ.
    /// </summary>
    private bool Prepare(FlatGroup flat)
    {
        var options = (Options)flat.Group.Options;
        if (options.amsgrad == true || options.maximize == true) return false;
        var grads = flat.Members.Select(p => p.grad).ToArray();
        if (grads.Any(g => g is null))
        {
            flat.Pointed = false; // someone cleared a gradient: re-point once all are back
            return false;
        }
        if (!flat.Pointed)
        {
            for (int i = 0; i < flat.Members.Length; i++)
            {
                var p = flat.Members[i];
                var view = flat.Grads.narrow(0, flat.Offsets[i], p.numel()).view(p.shape);
                view.copy_(grads[i]!);
                p.grad = view;
                grads[i]!.Dispose(); // autograd's gradient: freed now, not at the end of the step
            }
            flat.Pointed = true;
        }
        long step = ((State)_state[flat.Members[0].Handle]).step;
        return flat.Members.All(p => ((State)_state[p.Handle]).step == step);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        foreach (var flat in flats) // the parameters' views keep their storage alive
        {
            flat.Values.Dispose(); flat.Grads.Dispose(); flat.ExpAvg.Dispose(); flat.ExpAvgSq.Dispose();
        }
        flats.Clear();
    }
}
