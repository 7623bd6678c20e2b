namespace AlignSharp.Experiments;

/// <summary>
/// One evaluated policy on the reward-KL plane: a checkpoint of a training run, the base model, or a best-of-N
/// baseline. Reward and KL come from the same samples on held-out prompts.
/// </summary>
/// <param name="Method">Objective id, an RL baseline (ppo, ppo_gt, rloo), "base" for the SFT model, or "best_of_n".</param>
/// <param name="Beta">The run's swept value: β, or the parameter named by <paramref name="Knob"/> (NaN for base, best-of-N and runs without one).</param>
/// <param name="N">Best-of-N size (0 otherwise).</param>
/// <param name="Step">Optimizer step of the checkpoint (0 = the base model).</param>
/// <param name="Reward">Mean ground-truth reward of samples.</param>
/// <param name="RewardSe">Its standard error.</param>
/// <param name="Kl">Sequence KL(π ‖ π_ref) in nats (best-of-N: the analytic log N - (N-1)/N).</param>
/// <param name="KlSe">Its standard error (0 for the analytic value).</param>
/// <param name="ImplicitAccuracy">Implicit-reward accuracy on held-out pairs (NaN where it does not apply).</param>
/// <param name="MeanLength">Mean completion length in tokens.</param>
/// <param name="Loss">Mean training loss since the previous evaluation (NaN where it does not apply).</param>
/// <param name="Seconds">Wall time since the experiment started.</param>
/// <param name="Knob">What <paramref name="Beta"/> sets: "beta", another catalog parameter ("alpha"), "kl_coef" for
/// the RL baselines, or "" when the run has no swept value.</param>
public sealed record FrontierPoint(string Method, double Beta, int N, int Step, double Reward, double RewardSe, double Kl, double KlSe,
    double ImplicitAccuracy, double MeanLength, double Loss, double Seconds, string Knob = "beta")
{
    /// <summary>The swept value as written in labels: "β=0.1", "kl_coef=0.05", "α=1", or "" without one.</summary>
    public string Setting => Knob switch
    {
        "" => "",
        _ when double.IsNaN(Beta) => "",
        "beta" => FormattableString.Invariant($"β={Beta:0.###}"),
        "alpha" => FormattableString.Invariant($"α={Beta:0.###}"),
        _ => FormattableString.Invariant($"{Knob}={Beta:0.###}"),
    };

    /// <summary>Run label: "dpo β=0.1", "ppo kl_coef=0.05", "preferred_ft", "best-of-N", "base".</summary>
    public string Run => Method switch
    {
        "base" => "base (SFT)",
        "best_of_n" => "best-of-N",
        _ => Setting.Length == 0 ? Method : $"{Method} {Setting}",
    };
}
