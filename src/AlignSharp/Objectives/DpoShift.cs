using System.Globalization;
using F = TorchSharp.torch.nn.functional;

namespace AlignSharp.Objectives;

/// <summary>
/// DPO-Shift (Yang et al. 2025, https://arxiv.org/abs/2502.07599):
/// <c>loss = −log σ(β cw − λ β cl)</c>, with a fixed λ or a linear schedule over optimizer steps:
/// λ_t = λmin + (λmax − λmin) t/T (increase_linear) or λmax − (λmax − λmin) t/T (decrease_linear), where t is
/// <see cref="ObjectiveContext.Step"/> and T is <see cref="ObjectiveContext.MaxSteps"/>.
/// Intuition: λ &lt; 1 down-weights the rejected term so the chosen log-prob is not dragged down with it.
/// </summary>
public sealed class DpoShift : IPreferenceObjective
{
    private static readonly NumberParameter BetaParam = CommonParameters.Beta();
    private static readonly NumberParameter LambdaParam = new("lambda", 1.0, "fixed shift λ on the rejected log-ratio (1 is DPO)", Interval.Any);
    private static readonly ChoiceParameter ScheduleParam = new("lambda_schedule", "fixed",
        "fixed (use lambda), or a linear schedule from lambda_min to lambda_max over the run's optimizer steps",
        ["fixed", "increase_linear", "decrease_linear"]);
    private static readonly NumberParameter MinParam = new("lambda_min", 0.5, "schedule's lower λ", Interval.Any);
    private static readonly NumberParameter MaxParam = new("lambda_max", 1.0, "schedule's upper λ", Interval.Any);

    /// <summary>Catalog entry.</summary>
    internal static ObjectiveEntry Entry { get; } = new(
        "dpo_shift", "DPO-Shift: scaled rejected log-ratio, fixed or scheduled", "https://arxiv.org/abs/2502.07599",
        "-ls(beta cw - lambda beta cl); lambda_t = min+(max-min) t/T (increase) or max-(max-min) t/T (decrease)",
        [BetaParam, LambdaParam, ScheduleParam, MinParam, MaxParam],
        Create);

    /// <summary>Creates DPO-Shift.</summary>
    public DpoShift(double beta, double lambda, string schedule = "fixed", double lambdaMin = 0.5, double lambdaMax = 1.0)
    {
        Beta = BetaParam.Check(Id, beta);
        Lambda = LambdaParam.Check(Id, lambda);
        Schedule = ScheduleParam.Choices.Contains(schedule)
            ? schedule
            : throw new ObjectiveException($"objective '{Id}': parameter 'lambda_schedule' must be one of {ScheduleParam.AcceptedText}, got '{schedule}'");
        LambdaMin = MinParam.Check(Id, lambdaMin);
        LambdaMax = MaxParam.Check(Id, lambdaMax);
        if (schedule != "fixed" && lambdaMin > lambdaMax)
            throw new ObjectiveException($"objective '{Id}': 'lambda_min' ({lambdaMin.ToString(CultureInfo.InvariantCulture)}) exceeds 'lambda_max' ({lambdaMax.ToString(CultureInfo.InvariantCulture)})");
    }

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Fixed λ (used when <see cref="Schedule"/> is "fixed").</summary>
    public double Lambda { get; }

    /// <summary>"fixed", "increase_linear" or "decrease_linear".</summary>
    public string Schedule { get; }

    /// <summary>Schedule's lower λ.</summary>
    public double LambdaMin { get; }

    /// <summary>Schedule's upper λ.</summary>
    public double LambdaMax { get; }

    /// <inheritdoc />
    public string Id => "dpo_shift";

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public LogProbReduction Reduction => LogProbReduction.Sum;

    /// <summary>λ at the context's optimizer step.</summary>
    public double LambdaAt(ObjectiveContext context)
    {
        if (Schedule == "fixed") return Lambda;
        if (context.MaxSteps <= 0 || context.Step < 0)
            throw new ObjectiveException(
                $"objective '{Id}': lambda_schedule '{Schedule}' needs step >= 0 and max_steps > 0, got step={context.Step}, max_steps={context.MaxSteps}");
        double frac = (double)context.Step / context.MaxSteps;
        return Schedule == "increase_linear"
            ? LambdaMin + (LambdaMax - LambdaMin) * frac
            : LambdaMax - (LambdaMax - LambdaMin) * frac;
    }

    /// <inheritdoc />
    public ObjectiveOutput Compute(PairStats s, ObjectiveContext context)
    {
        var (cw, cl) = PairInputs.LogRatios(s, Id);
        double lambda = LambdaAt(context);
        var losses = -F.logsigmoid(Beta * cw - lambda * Beta * cl);
        return new ObjectiveOutput(losses, (Beta * cw).detach(), (Beta * cl).detach())
        {
            Metrics = new Dictionary<string, TorchSharp.torch.Tensor> { ["dpo_shift/lambda"] = TorchSharp.torch.tensor(lambda) },
        };
    }

    private static IPreferenceObjective Create(ObjectiveParams p)
    {
        var schedule = p.Get(ScheduleParam);
        if (schedule != "fixed" && p.Has("lambda"))
            throw new ObjectiveException($"objective 'dpo_shift': give either 'lambda' (fixed) or 'lambda_schedule' with 'lambda_min'/'lambda_max', not both");
        if (schedule == "fixed" && (p.Has("lambda_min") || p.Has("lambda_max")))
            throw new ObjectiveException($"objective 'dpo_shift': 'lambda_min'/'lambda_max' need lambda_schedule increase_linear or decrease_linear");
        return new DpoShift(p.Get(BetaParam), p.Get(LambdaParam), schedule, p.Get(MinParam), p.Get(MaxParam));
    }
}
