using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AlignSharp.IO;

namespace AlignSharp.Experiments;

/// <summary>
/// Writes the DPORM-vs-EXRM results: <c>rewards.md</c> (settings, the final accuracy per split, accuracy along
/// training) and <c>rewards.json</c> (settings and every measurement), each atomically.
/// </summary>
public static class RewardGeneralizationReport
{
    /// <summary>Writes both files into <paramref name="dir"/>; returns their paths (markdown, json).</summary>
    public static (string Markdown, string Json) Write(string dir, RewardGeneralizationOptions o,
        IReadOnlyList<RewardAccuracyPoint> points, double labelAgreement, double seconds)
    {
        Directory.CreateDirectory(dir);
        string md = Path.Combine(dir, "rewards.md"), json = Path.Combine(dir, "rewards.json");
        AtomicFile.WriteAllText(md, Markdown(o, points, labelAgreement, seconds));
        AtomicFile.WriteAllText(json, Json(o, points, labelAgreement, seconds));
        return (md, json);
    }

    /// <summary>The markdown report: settings, final accuracy per model and split, then accuracy along training.</summary>
    public static string Markdown(RewardGeneralizationOptions o, IReadOnlyList<RewardAccuracyPoint> points,
        double labelAgreement, double seconds)
    {
        var f = o.Frontier;
        var splits = points.Select(p => p.Split).Distinct().ToList();
        var sb = new StringBuilder();
        sb.AppendLine($"# DPORM vs EXRM: preference accuracy in distribution and under shift ({o.Preset} preset)");
        sb.AppendLine();
        sb.AppendLine(Inv($"Seed {f.Seed}; base model: the frontier's (byte-level GPT-2, d={f.Hidden}, {f.Layers} layer(s), ")
            + Inv($"{f.PretrainSteps} steps on {f.CorpusSize} reviews of every subject and word). {o.TrainPairs} training pairs ")
            + Inv($"from seen subjects and seen sentiment words (Bradley-Terry scale {f.LabelScale}; the label agrees with the ")
            + Inv($"ground-truth order in {labelAgreement:0.000} of them); {o.EvalPairs} test pairs per split. Both models ")
            + Inv($"train {f.Steps} steps of {f.Batch} pairs from the base model: DPO at lr {f.LearningRate} (reference: the ")
            + Inv($"base model), the reward model at lr {f.RewardLearningRate}. Accuracy: share of test pairs with distinct ")
            + Inv($"ground-truth rewards that the model orders as the ground truth does (ties wrong; ± binomial standard ")
            + Inv($"error). Wall time {seconds:0} s."));
        sb.AppendLine();
        sb.AppendLine("## Final accuracy against the ground truth");
        sb.AppendLine();
        Table(sb, splits, Final(points));
        sb.AppendLine();
        sb.AppendLine("## Along training");
        sb.AppendLine();
        sb.AppendLine("| model | step | " + string.Join(" | ", splits) + " |");
        sb.AppendLine("|---|---:|" + string.Concat(splits.Select(_ => "---:|")));
        foreach (var g in points.GroupBy(p => (p.Label, p.Step)))
            sb.AppendLine($"| {g.Key.Label} | {g.Key.Step} | " + string.Join(" | ", splits.Select(s =>
                g.FirstOrDefault(p => p.Split == s) is { } p ? Inv($"{p.Accuracy:0.000}") : "–")) + " |");
        return sb.ToString();
    }

    /// <summary>The last measurement of each model on each split.</summary>
    public static IReadOnlyList<RewardAccuracyPoint> Final(IReadOnlyList<RewardAccuracyPoint> points) =>
        [.. points.GroupBy(p => (p.Label, p.Split)).Select(g => g.MaxBy(p => p.Step)!)];

    private static void Table(StringBuilder sb, IReadOnlyList<string> splits, IReadOnlyList<RewardAccuracyPoint> final)
    {
        sb.AppendLine("| model | step | " + string.Join(" | ", splits) + " |");
        sb.AppendLine("|---|---:|" + string.Concat(splits.Select(_ => "---:|")));
        foreach (var g in final.GroupBy(p => p.Label))
            sb.AppendLine($"| {g.Key} | {g.First().Step} | " + string.Join(" | ", splits.Select(s =>
                g.FirstOrDefault(p => p.Split == s) is { } p ? Inv($"{p.Accuracy:0.000} ± {p.StandardError:0.000}") : "–"))
                + " |");
    }

    /// <summary>The JSON report: settings and every measurement (NaN as null).</summary>
    public static string Json(RewardGeneralizationOptions o, IReadOnlyList<RewardAccuracyPoint> points,
        double labelAgreement, double seconds)
    {
        var f = o.Frontier;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            w.WriteStartObject();
            w.WriteString("preset", o.Preset);
            w.WriteNumber("seed", f.Seed);
            w.WriteNumber("train_pairs", o.TrainPairs);
            w.WriteNumber("eval_pairs_per_split", o.EvalPairs);
            w.WriteNumber("label_scale", f.LabelScale);
            w.WriteNumber("label_agreement", labelAgreement);
            w.WriteNumber("steps", f.Steps);
            w.WriteNumber("batch", f.Batch);
            w.WriteNumber("dpo_learning_rate", f.LearningRate);
            w.WriteNumber("reward_learning_rate", f.RewardLearningRate);
            w.WriteNumber("seconds", seconds);
            w.WriteStartArray("points");
            foreach (var p in points)
            {
                w.WriteStartObject();
                w.WriteString("model", p.Model);
                Number(w, "beta", p.Beta);
                w.WriteNumber("step", p.Step);
                w.WriteString("split", p.Split);
                Number(w, "accuracy", p.Accuracy);
                Number(w, "accuracy_se", p.StandardError);
                w.WriteNumber("pairs", p.Pairs);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
