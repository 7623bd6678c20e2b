using System.Text.RegularExpressions;
using AlignSharp.Objectives;

namespace AlignSharp.Tests.Objectives;

/// <summary>The catalog matches the canonical table (ids, parameter names, defaults) and docs/objectives.md matches the catalog.</summary>
public sealed class CatalogTests
{
    [Fact]
    public void Ids_are_unique_and_every_entry_creates_an_objective_with_its_own_id()
    {
        Assert.Equal(ObjectiveCatalog.All.Count, ObjectiveCatalog.All.Select(e => e.Id).Distinct().Count());
        foreach (var e in ObjectiveCatalog.All)
            Assert.Equal(e.Id, ObjectiveCatalog.Create(e.Id, new ObjectiveParams()).Id);
    }

    [Fact]
    public void Ids_parameters_and_defaults_match_the_canonical_table()
    {
        // Parse the spec's tables: "| `id` ... | params | ..." rows; each "name=default" in the params cell must be declared with that default.
        var spec = File.ReadAllLines(Path.Combine(TestSetup.Shared, "spec", "objectives.md"));
        var rows = spec.Where(l => l.StartsWith("| `")).ToList();
        var specIds = rows.Select(r => Regex.Match(r, @"^\| `([a-z_]+)`").Groups[1].Value).ToList();
        Assert.NotEmpty(specIds); // the count is the table's: the catalog must list exactly its ids, in order
        Assert.Equal(specIds, ObjectiveCatalog.All.Select(e => e.Id).Where(id => id != "sft").ToList());
        foreach (var row in rows)
        {
            string id = Regex.Match(row, @"^\| `([a-z_]+)`").Groups[1].Value;
            string cell = row.Split(" | ")[1];
            var entry = ObjectiveCatalog.Get(id);
            foreach (Match m in Regex.Matches(cell, @"\b([a-z_]+) ?(?:\([^)]*\))? ?=([0-9.e+-]+|true|false|[a-z_]+)"))
            {
                string name = m.Groups[1].Value, value = m.Groups[2].Value;
                if (name == "tau" && id == "ipo") continue; // "beta (=tau)" names beta's meaning, not a parameter
                var p = entry.Parameters.FirstOrDefault(p => p.Name == name);
                Assert.True(p is not null, $"{id}: the table lists parameter '{name}', the catalog does not");
                if (p is NumberParameter n) Assert.Equal(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture), n.Default);
                else if (p is ChoiceParameter c)
                {
                    // "name=a\|b": a is the default, except DPO-Shift's "lambda=1.0 or lambda_schedule=...", where no schedule is "fixed".
                    Assert.Contains(value, c.Choices);
                    Assert.Equal(id == "dpo_shift" ? "fixed" : value, c.Default);
                }
                else Assert.Equal(value, p!.DefaultText);
            }
            // Every comma-separated item of the cell starts with a parameter name.
            foreach (var item in cell.Split(", "))
            {
                string word = Regex.Match(item, @"^[a-z_]+").Value;
                Assert.True(entry.Parameters.Any(p => p.Name == word), $"{id}: table parameter '{word}' missing from the catalog");
            }
        }
    }

    [Fact]
    public void Reference_need_and_reduction_follow_the_table()
    {
        var spec = File.ReadAllLines(Path.Combine(TestSetup.Shared, "spec", "objectives.md")).Where(l => l.StartsWith("| `") && l.Split(" | ").Length >= 4);
        foreach (var row in spec)
        {
            string id = Regex.Match(row, @"^\| `([a-z_]+)`").Groups[1].Value;
            var cells = row.Split(" | ");
            if (cells.Length < 4) continue; // stateful table: 3 columns, all need a reference
            bool needs = cells[3].TrimEnd(' ', '|').StartsWith("yes");
            Assert.True(needs == ObjectiveCatalog.Get(id).NeedsReference, $"{id}: table says reference {cells[3]}");
        }
        foreach (var id in new[] { "bco", "beta_dpo", "kto" }) Assert.True(ObjectiveCatalog.Get(id).NeedsReference);
        foreach (var id in new[] { "simpo", "alphapo", "orpo", "sigmoid_norm", "ipo", "sft" })
            Assert.Equal(LogProbReduction.Mean, ObjectiveCatalog.Get(id).Reduction);
        Assert.Equal(LogProbReduction.Sum, ObjectiveCatalog.Create("ipo", new ObjectiveParams(new Dictionary<string, string> { ["length_normalized"] = "false" })).Reduction);
    }

    [Fact]
    public void Committed_docs_objectives_md_matches_the_catalog()
    {
        string path = Path.Combine(TestSetup.RepoRoot, "docs", "objectives.md");
        string committed = File.Exists(path) ? File.ReadAllText(path) : "";
        Assert.True(committed == ObjectiveDocs.Markdown(),
            $"docs/objectives.md is out of date with the objective catalog; regenerate it with: {ObjectiveDocs.RegenerateCommand}");
    }

    [Fact]
    public void Every_objective_class_documents_a_paper_equation_and_intuition_in_its_entry()
    {
        foreach (var e in ObjectiveCatalog.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Description), e.Id);
            Assert.False(string.IsNullOrWhiteSpace(e.Loss), e.Id);
            if (e.Id != "sft") Assert.StartsWith("https://", e.Paper);
            Assert.All(e.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description), $"{e.Id}.{p.Name}"));
        }
    }
}
