using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AlignSharp.Checkpoints;
using AlignSharp.Data;
using AlignSharp.Evaluation;
using AlignSharp.Data.Chat;
using AlignSharp.Data.Formats;
using AlignSharp.Data.Inspection;
using AlignSharp.Data.Validation;
using AlignSharp.Runs;
using AlignSharp.Tokenization;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp data inspect --data PATH [--format ..] [--tokenizer DIR|FILE|byte] [--max-length ..]</c>.</summary>
internal sealed class DataCommand : ICliCommand
{
    public Command Build()
    {
        var data = new Option<string>("--data", "-d") { Description = "a data file (.jsonl, .jsonl.gz, .json, .parquet), a folder of shards, or a glob", Required = true };
        var format = new Option<string>("--format") { Description = "auto, explicit, implicit, conversational, unpaired, ranked, steps, trajectory, segment, tree, "
                + "scored, refinement, edit or outcome", DefaultValueFactory = _ => "auto" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "a model folder or tokenizer.json (e.g. GPT-2's); default: the built-in byte tokenizer" };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "chat template for conversational records: 'plain' (the built-in <|role|> one), a .jinja file, or a tokenizer_config.json or folder holding one (default: the tokenizer folder's; none is an error for conversational data)" };
        // Defaults from the run config's own record, so `data inspect` reports what `train` will do.
        var defaults = new AlignSharp.Config.DataSection();
        var maxLength = new Option<int>("--max-length")
        {
            Description = "max tokens of prompt + completion (default: train's data.max_length)",
            DefaultValueFactory = _ => defaults.MaxLength,
        };
        var maxPrompt = new Option<int?>("--max-prompt-length") { Description = "max prompt tokens when a pair is too long (default: half of --max-length)" };
        var mode = new Option<string>("--truncation-mode") { Description = "keep_end or keep_start: which end of a long prompt is kept", DefaultValueFactory = _ => defaults.TruncationMode == TruncationMode.KeepEnd ? "keep_end" : "keep_start" };
        var onBad = new Option<string>("--on-bad-record") { Description = "skip (report and go on) or fail (stop at the first)", DefaultValueFactory = _ => "skip" };
        var pairing = new Option<string>("--pairing") { Description = "ranked data: best-vs-worst, best-vs-each or all-pairs", DefaultValueFactory = _ => "best-vs-worst" };
        var batch = new Option<int>("--batch-size") { Description = "pairs per batch, for the padding estimate", DefaultValueFactory = _ => 8 };
        var seed = new Option<int>("--seed") { Description = "shuffling and split seed", DefaultValueFactory = _ => 0 };
        var split = new Option<double>("--eval-fraction", "--split") { Description = "fraction of records held out for evaluation", DefaultValueFactory = _ => 0 };
        var examples = new Option<int>("--examples") { Description = "examples shown per reason and of used pairs", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "print the report as JSON" };

        var inspect = new Command("inspect", "Report what a preference data set holds: records used and not (with file, line and reason), token lengths, truncation and padding.")
        {
            data, format, tokenizer, chatTemplate, maxLength, maxPrompt, mode, onBad, pairing, batch, seed, split, examples, json,
        };
        inspect.SetAction(r =>
        {
            try { return Inspect(r); }
            catch (ArgumentException e) // a bad option value (format, mode, pairing, fraction): one line, exit 1
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        var filterData = new Option<string>("--data", "-d") { Description = "preference data (any format `data inspect` reads)", Required = true };
        var filterModel = new Option<DirectoryInfo>("--model", "-m") { Description = "the model whose hidden states CHES reads (the policy DPO starts from)", Required = true };
        var filterTokenizer = new Option<string?>("--tokenizer") { Description = "'byte', a folder or a tokenizer.json (default: the model folder)" };
        var quantile = new Option<double>("--ches-quantile") { Description = "share of pairs with the highest CHES score to drop, in [0, 1)", Required = true };
        var filterOutput = new Option<FileInfo>("--output", "-o") { Description = "JSONL of the kept pairs (with a ches_score column)", Required = true };
        var filterMax = new Option<int>("--max-length") { Description = "max tokens of prompt + completion", DefaultValueFactory = _ => defaults.MaxLength };
        var filterBatch = new Option<int>("--batch-size") { Description = "pairs per forward pass", DefaultValueFactory = _ => 16 };
        var filter = new Command("filter", "Drop the pairs most prone to likelihood displacement: the highest CHES scores (Razin et al. 2024).")
        {
            filterData, filterModel, filterTokenizer, quantile, filterOutput, filterMax, filterBatch,
        };
        filter.SetAction(r =>
        {
            string dir = r.GetValue(filterModel)!.FullName;
            var tok = RunTokenizer.Load(r.GetValue(filterTokenizer) ?? dir);
            var loaded = PreferenceDataLoader.Load(r.GetValue(filterData)!);
            var pairs = new PairTokenizer(tok, TokenizationOptions.WithHalfPrompt(r.GetValue(filterMax)))
                .TokenizeAll(loaded.Pairs, loaded.Report);
            if (pairs.Count == 0) throw new AlignSharpException($"{r.GetValue(filterData)}: no usable pairs");
            using var model = HfCheckpoint.Load(dir).Model;
            var scores = Ches.Scores(model, pairs, PadRule.IdFor(tok), r.GetValue(filterBatch));
            var keep = Ches.Keep(scores, r.GetValue(quantile));
            PreferenceJsonlWriter.Write(r.GetValue(filterOutput)!.FullName, keep.Select(i => pairs[i].Example with
            {
                Extras = new Dictionary<string, double>(pairs[i].Example.Extras) { ["ches_score"] = scores[i] },
            }));
            Console.WriteLine($"kept {keep.Count} of {pairs.Count} pairs (dropped the {pairs.Count - keep.Count} with the "
                + $"highest CHES); {loaded.Report.RecordsReported + loaded.Report.ExamplesTooLong} records or pairs not used: {r.GetValue(filterOutput)!.FullName}");
            return 0;
        });
        var cmd = new Command("data", "Preference data tools.") { inspect, filter };
        return cmd;

        int Inspect(ParseResult r)
        {
            var tok = LoadTokenizer(r.GetValue(tokenizer), out var tokName);
            int max = r.GetValue(maxLength);
            var tokenization = new TokenizationOptions(max, r.GetValue(maxPrompt) ?? Math.Max(1, max / 2), TokenizationOptions.ParseMode(r.GetValue(mode)!));
            var options = new DataOptions
            {
                Format = DataFormats.Parse(r.GetValue(format)!),
                OnBadRecord = r.GetValue(onBad)!.ToLowerInvariant() switch
                {
                    "skip" => BadRecordPolicy.Skip,
                    "fail" => BadRecordPolicy.Fail,
                    var v => throw new ArgumentException($"--on-bad-record: '{v}' is not skip or fail"),
                },
                Pairing = ParsePairing(r.GetValue(pairing)!),
                ChatFormatter = LoadChat(r.GetValue(chatTemplate), r.GetValue(tokenizer)),
                ExamplesPerIssue = r.GetValue(examples),
            };
            var result = DataInspection.Run(r.GetValue(data)!, options, tok, tokenization, r.GetValue(batch), r.GetValue(seed), r.GetValue(split));
            Console.Write(r.GetValue(json)
                ? ToJson(result, tokName, r.GetValue(batch)) + "\n"
                : ToText(r.GetValue(data)!, result, tokName, options, r.GetValue(batch), r.GetValue(seed), r.GetValue(split), r.GetValue(examples)));
            return 0;
        }
    }

    /// <summary>A model folder or tokenizer.json file; nothing (or "byte") means the byte tokenizer.</summary>
    internal static ITokenizer LoadTokenizer(string? spec, out string name)
    {
        name = spec ?? RunTokenizer.Byte;
        return RunTokenizer.Load(spec);
    }

    private static IChatFormatter LoadChat(string? template, string? tokenizerSpec) =>
        RunChatTemplate.Resolve(template, tokenizerSpec, $"--chat-template {template}",
            "pass --chat-template FILE (a .jinja file, or a tokenizer_config.json or folder holding one) or " +
            "--chat-template plain").Formatter;

    private static RankedPairing ParsePairing(string name) => name.Replace("-", "").Replace("_", "").ToLowerInvariant() switch
    {
        "bestvsworst" => RankedPairing.BestVsWorst,
        "bestvseach" => RankedPairing.BestVsEach,
        "allpairs" => RankedPairing.AllPairs,
        _ => throw new ArgumentException($"--pairing: '{name}' is not best-vs-worst, best-vs-each or all-pairs"),
    };

    private static string Quote(string s, int max, bool tail = false)
    {
        if (s.Length > max) s = tail ? "…" + s[^max..] : s[..max] + "…";
        return JsonSerializer.Serialize(s, JsonOptions);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    private static string Settings(TokenizationOptions o) =>
        $"max_length {o.MaxLength}, max_prompt_length {o.MaxPromptLength?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {(o.PromptTruncation == TruncationMode.KeepEnd ? "keep_end" : "keep_start")}";

    internal static string ToText(string spec, DataInspection x, string tokenizer, DataOptions options, int batchSize, int seed, double evalFraction, int examples)
    {
        var r = x.Report;
        var current = x.Truncation[0].Options;
        var sb = new StringBuilder();
        sb.AppendLine($"data: {spec} ({x.Data.Files.Count} file{(x.Data.Files.Count == 1 ? "" : "s")}), format: {x.Data.Format.ToString().ToLowerInvariant()}{(options.Format == DataFormat.Auto ? " (detected)" : "")}, chat template: {options.ChatFormatter.Name}");
        sb.AppendLine($"tokenizer: {tokenizer}; {Settings(current)}");
        sb.AppendLine($"records: {r.RecordsRead} read, {r.RecordsUsed} used, {r.RecordsReported} reported");
        sb.AppendLine($"examples: {r.ExamplesProduced} produced, {r.ExamplesTooLong} too long after truncation, {x.Pairs.Count} kept; truncated: prompt {r.PromptTruncated}, completion {r.CompletionTruncated}");
        if (x.Data.Trees is [var tree, ..] trees)
            sb.AppendLine($"scored responses: {trees.Count} prompts with {tree.Count} response(s) each, "
                + $"{trees.Min(t => t.Steps.Min(s => s.Count))}-{trees.Max(t => t.Steps.Max(s => s.Count))} steps per "
                + $"response ({(tree.Count > 1 ? "tpo trees" : "oreo outcomes")}; lengths below: the best- and the "
                + "lowest-scored response)");
        if (r.Counts.Count == 0) sb.AppendLine("not used: none");
        else
        {
            sb.AppendLine("not used, by reason:");
            foreach (var (issue, count) in r.Counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key))
            {
                sb.AppendLine($"  {issue.Name()}: {count}");
                foreach (var p in r.Examples[issue]) sb.AppendLine($"    {p.Where}: {p.Detail}");
                if (count > r.Examples[issue].Count) sb.AppendLine($"    ... {count - r.Examples[issue].Count} more (raise --examples to list them)");
            }
        }
        sb.AppendLine("token lengths before truncation (prompt with BOS, completions with EOS):");
        sb.AppendLine($"  {"",-10}{"count",8}{"min",7}{"p50",7}{"p90",7}{"p95",7}{"p99",7}{"max",8}{"mean",9}");
        foreach (var (name, s) in new[] { ("prompt", x.Prompt), ("chosen", x.Chosen), ("rejected", x.Rejected), ("pair", x.Pair) })
            sb.AppendLine(FormattableString.Invariant($"  {name,-10}{s.Count,8}{s.Min,7}{s.P50,7}{s.P90,7}{s.P95,7}{s.P99,7}{s.Max,8}{s.Mean,9:F1}"));
        sb.AppendLine("  (pair = prompt + the longer completion)");
        sb.AppendLine($"truncation settings ({x.Prompt.Count} examples; {(current.PromptTruncation == TruncationMode.KeepEnd ? "keep_end" : "keep_start")}; an example may have both prompt and completion cut):");
        sb.AppendLine($"  {"max_length",10} {"max_prompt",10} {"untouched",10} {"prompt_cut",10} {"compl_cut",10} {"too_long",9}");
        foreach (var t in x.Truncation)
            sb.AppendLine($"  {t.Options.MaxLength,10} {t.Options.MaxPromptLength?.ToString(CultureInfo.InvariantCulture) ?? "none",10} {t.Untouched,10} {t.PromptCut,10} {t.CompletionCut,10} {t.TooLong,9}{(t == x.Truncation[0] ? "  <- current" : "")}");
        sb.AppendLine(FormattableString.Invariant($"split: {x.TrainCount} train, {x.EvalCount} eval (eval fraction {evalFraction}, seed {seed})"));
        if (x.Bucketed is { } b && x.Random is { } rnd)
            sb.AppendLine(FormattableString.Invariant($"padding at batch size {batchSize} (seed {seed}): length-bucketed {b.Waste:P1} ({b.PaddedTokens} of {b.TotalTokens} tokens), random {rnd.Waste:P1} ({rnd.PaddedTokens} of {rnd.TotalTokens} tokens)"));
        if (examples > 0 && x.Data.Pairs.Count > 0)
        {
            sb.AppendLine("examples:");
            foreach (var e in x.Data.Pairs.Take(examples))
            {
                sb.AppendLine($"  {e.Source}");
                sb.AppendLine($"    prompt:   {Quote(e.Prompt, 160, tail: true)}");
                sb.AppendLine($"    chosen:   {Quote(e.Chosen, 160)}");
                sb.AppendLine($"    rejected: {Quote(e.Rejected, 160)}");
                if (e.Extras.Count > 0) sb.AppendLine($"    extras:   {string.Join(", ", e.Extras.Select(kv => FormattableString.Invariant($"{kv.Key}={kv.Value}")))}");
            }
        }
        return sb.ToString();
    }

    private static string ToJson(DataInspection x, string tokenizer, int batchSize)
    {
        var o = new
        {
            files = x.Data.Files,
            format = x.Data.Format.ToString().ToLowerInvariant(),
            tokenizer,
            report = x.Report.ToSnapshot(),
            kept = x.Pairs.Count,
            lengths = new { prompt = x.Prompt, chosen = x.Chosen, rejected = x.Rejected, pair = x.Pair },
            truncation = x.Truncation.Select(t => new { max_length = t.Options.MaxLength, max_prompt_length = t.Options.MaxPromptLength, untouched = t.Untouched, prompt_cut = t.PromptCut, completion_cut = t.CompletionCut, too_long = t.TooLong }),
            split = new { train = x.TrainCount, eval = x.EvalCount },
            padding = x.Bucketed is null ? null : new { batch_size = batchSize, bucketed = x.Bucketed.Waste, random = x.Random!.Waste },
        };
        return JsonSerializer.Serialize(o, new JsonSerializerOptions(JsonOptions)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        });
    }
}
