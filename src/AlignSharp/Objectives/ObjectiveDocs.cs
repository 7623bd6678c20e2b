using System.Text;

namespace AlignSharp.Objectives;

/// <summary>
/// The user-facing objective table (docs/objectives.md), generated from the catalog so ids, parameters and
/// defaults cannot drift from the code. Regenerate with <c>alignsharp objectives docs --output docs/objectives.md</c>.
/// </summary>
public static class ObjectiveDocs
{
    /// <summary>The command that regenerates the committed file.</summary>
    public const string RegenerateCommand = "dotnet run --project src/AlignSharp.Cli -- objectives docs --output docs/objectives.md";

    /// <summary>The whole markdown page.</summary>
    public static string Markdown()
    {
        var sb = new StringBuilder();
        sb.Append("# Preference objectives\n\n");
        sb.Append("<!-- Generated from ObjectiveCatalog; do not edit. Regenerate with:\n     ").Append(RegenerateCommand).Append(" -->\n\n");
        sb.Append("Every objective takes per-pair sequence statistics: policy log-prob sums of the chosen and rejected completions\n");
        sb.Append("(`pw`, `pl`), the reference's (`rw`, `rl`) when it needs a reference, and completion token counts (`nw`, `nl`).\n");
        sb.Append("Notation: `cw = pw - rw`, `cl = pl - rl`, `h = cw - cl`, `aw = pw/nw`, `al = pl/nl`, `ls = log sigmoid`,\n");
        sb.Append("`s = sigmoid`. The batch loss is the mean of the per-pair losses. \"Reduction\" says whether the objective reads\n");
        sb.Append("summed or length-averaged log-probs (it divides by the lengths itself); the trainer logs\n");
        sb.Append("`logps/chosen` and `logps/rejected` in that aggregate. Reference-free objectives make the trainer\n");
        sb.Append("skip the reference model entirely.\n\n");
        sb.Append("Configure one objective by id and parameters, or a weighted combination of several (`CombinedObjective`,\n");
        sb.Append("e.g. `dpo` 1.0 + `bco` 0.2 + `sft` 0.1). `alignsharp objectives list` prints this table;\n");
        sb.Append("`alignsharp objectives eval --input FILE.json` computes a file in the golden-vector schema.\n\n");

        sb.Append("| id | objective | parameters (default) | reference | reduction | per-pair loss |\n");
        sb.Append("|---|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.All)
        {
            string parameters = e.Parameters.Count == 0 ? "none" : string.Join(", ", e.Parameters.Select(p => $"`{p.Name}`={p.DefaultText}"));
            string title = e.Paper.Length > 0 ? $"[{Escape(e.Description)}]({e.Paper})" : Escape(e.Description);
            sb.Append($"| `{e.Id}` | {title} | {parameters} | {(e.NeedsReference ? "yes" : "no")} | {Reduction(e)} | `{Escape(e.Loss)}` |\n");
        }

        sb.Append("\n## Parameters\n\n");
        foreach (var e in ObjectiveCatalog.All.Where(e => e.Parameters.Count > 0))
        {
            sb.Append($"### `{e.Id}`\n\n| parameter | default | accepted | meaning |\n|---|---|---|---|\n");
            foreach (var p in e.Parameters)
                sb.Append($"| `{p.Name}` | {p.DefaultText} | {Escape(p.AcceptedText)} | {Escape(p.Description)} |\n");
            sb.Append('\n');
        }

        sb.Append("## Extra inputs\n\n");
        sb.Append("Each objective declares the extra inputs it reads as typed requests (`IPreferenceObjective.Inputs`,\n");
        sb.Append("one record per kind in `Objectives/InputRequests.cs`); the trainer satisfies each kind with one\n");
        sb.Append("provider (`Training/TrainerInputs.cs`) and rejects a kind it cannot provide before the first step.\n");
        sb.Append("Golden-vector files give the same inputs as named arrays (the keys below); dataset columns may also\n");
        sb.Append("come under their column name.\n\n");
        sb.Append("| id | request | keys | shape | source | meaning |\n|---|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.All)
            foreach (var i in e.Inputs)
            {
                string keys = string.Join(", ", i.Keys.Select(k => $"`{k}`"));
                sb.Append($"| `{e.Id}` | `{i.GetType().Name}` | {keys} | {i.Shape} | {Escape(i.Source)} | ")
                    .Append($"{Escape(i.Description)} |\n");
            }
        sb.Append("| `dpo_shift` (schedules) | `ObjectiveContext` | step, max_steps | scalars | trainer | ")
            .Append("optimizer step t and total steps T |\n");

        sb.Append("\n## State\n\n");
        sb.Append("Stateful objectives keep their state in the objective, save it with each checkpoint (`IStatefulObjective`) and\n");
        sb.Append("update it only in training steps, never in evaluation.\n\n");
        foreach (var e in ObjectiveCatalog.All.Where(e => e.Stateful))
            sb.Append($"- `{e.Id}`: {Escape(e.Loss)}\n");
        sb.Append("- `kto` keeps no state across batches: its reference point z0 is recomputed per batch from mismatched pairs.\n");
        TokenLevelSection(sb);
        BaselineSection(sb);
        return sb.ToString();
    }

    /// <summary>The token-, step-, segment- and list-level section (spec objectives-tokenlevel.md).</summary>
    private static void TokenLevelSection(StringBuilder sb)
    {
        sb.Append("\n## Beyond sequence sums: token, step, segment and list level\n\n");
        sb.Append("These read per-token inputs: `lp[t]`, `lr[t]` = policy and reference log-prob of completion token t,\n");
        sb.Append("`m[t]` = 1 on label tokens (prompt and padding never count), `S(v, k) = sum_t k[t] v[t]`,\n");
        sb.Append("`DPO(a, b, c, d) = -ls(beta [(a - b) - (c - d)])`. Masked slots are never read (select, not multiply).\n");
        sb.Append("`alignsharp objectives eval --input FILE.json` also computes files in the token-level golden schema\n");
        sb.Append("(`preference-objective-vectors-tokenlevel/1`). Every objective below trains with `alignsharp train` on\n");
        sb.Append("the data its row names (`data.format`, or detected from the records; docs/data.md): plain pairs for\n");
        sb.Append("`asft` and `ilr_dpo`; `steps`, `trajectory`, `segment`, `edit`, `scored` and `refinement` records for\n");
        sb.Append("the rest of the pairwise ones; `tree` records (N rows per prompt) for `tpo`; `outcome` records for\n");
        sb.Append("`oreo`, with its value head. `typo` and `svpo` are left out: the spec marks them provisional (TYPO's\n");
        sb.Append("formula is a reconstruction, not confirmed; SVPO has no closed loss: its value-model margin loss is\n");
        sb.Append("unpublished). \"required\" parameters have no published default and must be set.\n\n");
        sb.Append("| id | objective | parameters (default) | reference | data | per-example loss |\n");
        sb.Append("|---|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.TokenLevel)
        {
            string title = $"[{Escape(e.Description)}]({e.Paper})";
            sb.Append($"| `{e.Id}` | {title} | {ParameterList(e.Parameters)} | {(e.NeedsReference ? "yes" : "no")} | ");
            sb.Append($"{Escape(e.Data)} | `{Escape(e.Loss)}` |\n");
        }
        foreach (var o in ObjectiveCatalog.Outputs)
        {
            sb.Append($"| `{o.Id}` | [{Escape(o.Description)}]({o.Paper}) | {ParameterList(o.Parameters)} | yes | ");
            sb.Append($"any response (not a loss): `alignsharp logprobs --token-rewards` | `{Escape(o.Formula)}` |\n");
        }

        sb.Append("\n### Reading token rewards\n\n");
        sb.Append("`alignsharp logprobs --model POLICY --reference REF --data FILE.jsonl --token-rewards [--beta B]\n");
        sb.Append("[--plot FILE.png [--plot-line N]]` prints, for each `{prompt, completion}` record, one JSON line with the\n");
        sb.Append("completion's `tokens` and `token_texts`, both models' per-token log-probs (`policy_logps`,\n");
        sb.Append("`reference_logps`), `token_rewards` r[t], `cumulative_rewards` and `sequence_reward` (= beta (pw - rw),\n");
        sb.Append("DPO's implicit reward; `beta` defaults to 0.1). `--plot` draws one record's tokens coloured by r[t]\n");
        sb.Append("(blue > 0 > red, full colour = the largest |r[t]| of the response). The picture below reads the\n");
        sb.Append("quickstart's DPO policy against its pretrained reference (byte tokens of a generated review):\n\n");
        sb.Append("```bash\n");
        sb.Append("alignsharp quickstart   # runs/quickstart/base (the reference) and runs/quickstart/dpo/final\n");
        sb.Append("alignsharp logprobs --model runs/quickstart/dpo/final --reference runs/quickstart/base \\\n");
        sb.Append("  --data docs/experiments/token-rewards.jsonl --token-rewards --beta 0.1 \\\n");
        sb.Append("  --plot docs/experiments/token-rewards.png\n");
        sb.Append("```\n\n");
        sb.Append("![Token rewards of one response](experiments/token-rewards.png)\n\n");
        sb.Append("In that run (2026-12-02, a loaded machine) the policy lowered the bytes of \"a bit dull\" most (r down to\n");
        sb.Append("-0.29 on the last `l`) and the whole mixed review's sequence reward is -1.175 (the two other records of\n");
        sb.Append("the file: -0.580 and -0.861). Byte-level readings are noisy: single letters of a word often disagree.\n");

        sb.Append("\n### Token-level parameters\n\n");
        foreach (var e in ObjectiveCatalog.TokenLevel.Where(e => e.Parameters.Count > 0))
        {
            sb.Append($"#### `{e.Id}`\n\n| parameter | default | accepted | meaning |\n|---|---|---|---|\n");
            foreach (var p in e.Parameters)
                sb.Append($"| `{p.Name}` | {p.DefaultText} | {Escape(p.AcceptedText)} | {Escape(p.Description)} |\n");
            sb.Append('\n');
        }

        sb.Append("### Token-level inputs\n\n");
        sb.Append("| id | request | keys | shape | source | meaning |\n|---|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.TokenLevel)
            foreach (var i in e.Inputs)
            {
                string keys = string.Join(", ", i.Keys.Select(k => $"`{k}`"));
                sb.Append($"| `{e.Id}` | `{i.GetType().Name}` | {keys} | {i.Shape} | {Escape(i.Source)} | ");
                sb.Append($"{Escape(i.Description)} |\n");
            }
    }

    /// <summary>The DPO paper's baselines and the reward-model loss.</summary>
    private static void BaselineSection(StringBuilder sb)
    {
        sb.Append("\n## Baselines and reward models\n\n");
        sb.Append("The DPO paper's supervised baselines, and the Bradley-Terry loss `alignsharp reward train` fits a reward\n");
        sb.Append("model with (`rw`, `rl` = the reward head's outputs; see docs/rewards.md). `lw[t]`, `ll[t]` = policy\n");
        sb.Append("log-prob of chosen and rejected token t; `S` and `m` as above.\n\n");
        sb.Append("| id | objective | parameters (default) | reference | data | per-pair loss |\n");
        sb.Append("|---|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.Baselines)
        {
            sb.Append($"| `{e.Id}` | [{Escape(e.Description)}]({e.Paper}) | {ParameterList(e.Parameters)} | ");
            sb.Append($"{(e.NeedsReference ? "yes" : "no")} | {Escape(e.Data)} | `{Escape(e.Loss)}` |\n");
        }
        sb.Append("\n| id | parameter | default | accepted | meaning |\n|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.Baselines)
            foreach (var p in e.Parameters)
                sb.Append($"| `{e.Id}` | `{p.Name}` | {p.DefaultText} | {Escape(p.AcceptedText)} | {Escape(p.Description)} |\n");
        sb.Append("\n| id | request | keys | shape | source | meaning |\n|---|---|---|---|---|---|\n");
        foreach (var e in ObjectiveCatalog.Baselines)
            foreach (var i in e.Inputs)
            {
                string keys = string.Join(", ", i.Keys.Select(k => $"`{k}`"));
                sb.Append($"| `{e.Id}` | `{i.GetType().Name}` | {keys} | {i.Shape} | {Escape(i.Source)} | ");
                sb.Append($"{Escape(i.Description)} |\n");
            }
    }

    private static string ParameterList(IReadOnlyList<ObjectiveParameter> parameters) =>
        parameters.Count == 0 ? "none" : string.Join(", ", parameters.Select(p => $"`{p.Name}`={p.DefaultText}"));

    /// <summary>"sum" or "mean".</summary>
    public static string Reduction(ObjectiveEntry e) => e.Reduction == LogProbReduction.Sum ? "sum" : "mean";

    private static string Escape(string s) => s.Replace("|", "\\|");
}
