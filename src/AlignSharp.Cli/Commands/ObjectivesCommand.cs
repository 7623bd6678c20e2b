using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using AlignSharp.Objectives;
using AlignSharp.IO;

namespace AlignSharp.Cli.Commands;

/// <summary>
/// <c>alignsharp objectives</c>: <c>list</c> every objective with its parameters, defaults, reference need and
/// reduction; <c>eval --input FILE.json</c> computes a golden-vector file with the library; <c>docs</c> writes
/// the generated docs/objectives.md.
/// </summary>
public sealed class ObjectivesCommand : ICliCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly TextWriter output;
    private readonly TextWriter errors;

    /// <summary>Writes to the console (used by the CLI).</summary>
    public ObjectivesCommand() : this(Console.Out, Console.Error) { }

    /// <summary>Writes to the given writers (used by tests).</summary>
    public ObjectivesCommand(TextWriter output, TextWriter errors)
    {
        this.output = output;
        this.errors = errors;
    }

    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("objectives", "List the preference objectives, compute golden-vector files, write the objectives table.");
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildEval());
        command.Subcommands.Add(BuildDocs());
        return command;
    }

    private Command BuildList()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var list = new Command("list", "Every objective id with its parameters and defaults, reference need and reduction.");
        list.Options.Add(json);
        list.SetAction(r => Guarded(() => output.WriteLine(r.GetValue(json) ? ListJson().ToJsonString(Indented) : ListText())));
        return list;
    }

    private Command BuildEval()
    {
        var input = new Option<string>("--input")
        {
            Description = "A JSON file in a golden-vector schema (preference-objective-vectors/1 or "
                + "preference-objective-vectors-tokenlevel/1).",
            Required = true,
        };
        var eval = new Command("eval", "Compute every case of a golden-vector file; prints {\"cases\": [{objective, params, "
            + "batches: [{losses, loss}]}]} (token_rewards: {token_rewards, cumulative_rewards, sequence_rewards}).");
        eval.Options.Add(input);
        eval.SetAction(r => Guarded(() =>
        {
            var (seed, cases) = ObjectiveVectors.Read(r.GetValue(input)!);
            var results = cases.Select(c => (c, ObjectiveVectors.Evaluate(c, seed))).ToList();
            output.WriteLine(ObjectiveVectors.ToJson(results).ToJsonString(Indented));
        }));
        return eval;
    }

    private Command BuildDocs()
    {
        var path = new Option<string?>("--output") { Description = "Write the markdown to this file (atomically) instead of printing it." };
        var docs = new Command("docs", "Generate the objectives table (docs/objectives.md) from the catalog.");
        docs.Options.Add(path);
        docs.SetAction(r => Guarded(() =>
        {
            string markdown = ObjectiveDocs.Markdown();
            if (r.GetValue(path) is not { } file)
            {
                output.Write(markdown);
                return;
            }
            Runs.RunCheck.Writable(Path.GetDirectoryName(Path.GetFullPath(file))!, $"--output {file}", "folder");
            AtomicFile.WriteAllText(file, markdown);
            output.WriteLine($"wrote {file}");
        }));
        return docs;
    }

    private int Guarded(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (CliErrors.IsUserError(e))
        {
            errors.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static string ListText()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var e in ObjectiveCatalog.All.Concat(ObjectiveCatalog.TokenLevel))
        {
            var flags = new List<string> { $"reference: {(e.NeedsReference ? "yes" : "no")}", $"reduction: {ObjectiveDocs.Reduction(e)}" };
            if (e.Stateful) flags.Add("stateful");
            if (e.Unpaired) flags.Add("unpaired");
            sb.AppendLine($"{e.Id}  ({string.Join(", ", flags)})  {e.Description}");
            foreach (var p in e.Parameters)
                sb.AppendLine($"    {p.Name}={p.DefaultText}  ({(p is NumberParameter ? "in " : "one of ")}{p.AcceptedText})  {p.Description}");
            foreach (var i in e.Inputs)
                sb.AppendLine(
                    $"    input {string.Join(", ", i.Keys)} {i.Shape} from {i.Source.Replace("`", "")}: {i.Description}");
        }
        foreach (var o in ObjectiveCatalog.Outputs)
        {
            sb.AppendLine($"{o.Id}  (output, not a loss)  {o.Description}");
            foreach (var p in o.Parameters) sb.AppendLine($"    {p.Name}={p.DefaultText}  (in {p.AcceptedText})  {p.Description}");
        }
        return sb.ToString().TrimEnd();
    }

    private static JsonObject ListJson() => new()
    {
        ["objectives"] = EntriesJson(ObjectiveCatalog.All),
        ["token_level"] = EntriesJson(ObjectiveCatalog.TokenLevel),
        ["outputs"] = new JsonArray([.. ObjectiveCatalog.Outputs.Select(o => (JsonNode)new JsonObject
        {
            ["id"] = o.Id, ["description"] = o.Description, ["paper"] = o.Paper, ["formula"] = o.Formula,
            ["params"] = ParamsJson(o.Parameters),
        })]),
    };

    private static JsonArray ParamsJson(IEnumerable<ObjectiveParameter> parameters) =>
        new([.. parameters.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Name, ["default"] = p.DefaultText, ["accepted"] = p.AcceptedText, ["description"] = p.Description,
        })]);

    private static JsonArray EntriesJson(IEnumerable<ObjectiveEntry> entries)
    {
        var list = new JsonArray();
        foreach (var e in entries)
        {
            list.Add(new JsonObject
            {
                ["id"] = e.Id,
                ["description"] = e.Description,
                ["paper"] = e.Paper,
                ["loss"] = e.Loss,
                ["needs_reference"] = e.NeedsReference,
                ["reduction"] = ObjectiveDocs.Reduction(e),
                ["stateful"] = e.Stateful,
                ["unpaired"] = e.Unpaired,
                ["params"] = ParamsJson(e.Parameters),
                ["data"] = e.Data,
                ["inputs"] = new JsonArray([.. e.Inputs.Select(i => (JsonNode)new JsonObject
                {
                    ["request"] = i.GetType().Name, ["keys"] = new JsonArray([.. i.Keys.Select(k => (JsonNode)k)]),
                    ["shape"] = i.Shape, ["source"] = i is DatasetColumn ? "dataset" : "trainer",
                    ["column"] = (i as DatasetColumn)?.Column, ["description"] = i.Description,
                })]),
            });
        }
        return list;
    }
}
