using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace AlignSharp.Tests.Architecture;

/// <summary>
/// The layers stay layers: no namespace import cycle inside or across the assemblies, and the core library references
/// TorchSharp only (not the CLI, the experiments, plotting or a libtorch runtime package, which the application picks).
/// </summary>
public sealed partial class LayeringTests
{
    private static readonly string[] Sources = ["AlignSharp.Tokenizers", "AlignSharp", "AlignSharp.Experiments", "AlignSharp.Cli"];

    /// <summary>
    /// Namespace -> namespaces it uses, from every source file: its <c>using AlignSharp.X</c> directives and every fully
    /// qualified <c>AlignSharp.X.Y</c> name, each mapped to its layer (the first two name parts: AlignSharp.Data.Chat and
    /// AlignSharp.Data are one layer, whose files see each other without a using).
    /// </summary>
    private static Dictionary<string, HashSet<string>> NamespaceGraph()
    {
        var graph = new Dictionary<string, HashSet<string>>();
        foreach (var project in Sources)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestSetup.RepoRoot, "src", project), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")) continue;
                string text = Comment().Replace(File.ReadAllText(file), ""); // a comment naming a layer is not a use of it
                var ns = NamespaceLine().Match(text);
                if (!ns.Success) continue;
                string from = Layer(ns.Groups[1].Value);
                var edges = graph.TryGetValue(from, out var e) ? e : graph[from] = [];
                foreach (Match m in QualifiedName().Matches(text))
                {
                    string to = Layer(m.Value);
                    if (to != from && to != "AlignSharp") edges.Add(to);
                }
            }
        }
        return graph;
    }

    private static string Layer(string name)
    {
        var parts = name.Split('.');
        return parts.Length >= 2 && char.IsUpper(parts[1][0]) ? $"{parts[0]}.{parts[1]}" : parts[0];
    }

    [GeneratedRegex(@"(?<![:""])//[^\n]*|/\*[\s\S]*?\*/")]
    private static partial Regex Comment();

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    /// <summary>AlignSharp.X (and deeper), in a using directive or a qualified name; not inside a longer name or a path.</summary>
    [GeneratedRegex(@"(?<![\w./\\-])AlignSharp\.[A-Z]\w*")]
    private static partial Regex QualifiedName();

    [Fact]
    public void No_namespace_import_cycle()
    {
        var graph = NamespaceGraph();
        Assert.Contains("AlignSharp.Runs", graph.Keys); // the walk saw the code
        Assert.Contains("AlignSharp.Training", graph["AlignSharp.Runs"]);
        Assert.Contains("AlignSharp.Data", graph["AlignSharp.Config"]); // only by qualified names (AlignSharp.Data.TruncationMode)
        var cycles = new List<string>();
        foreach (var start in graph.Keys.Order())
        {
            // Depth-first search for a path back to start.
            var stack = new Stack<List<string>>([[start]]);
            var seen = new HashSet<string>();
            while (stack.Count > 0)
            {
                var path = stack.Pop();
                foreach (var next in graph.GetValueOrDefault(path[^1], []).Order())
                {
                    if (next == start) { cycles.Add(string.Join(" -> ", path.Append(start))); continue; }
                    if (seen.Add(next)) stack.Push([.. path, next]);
                }
            }
        }
        Assert.True(cycles.Count == 0, "namespace import cycles:\n" + string.Join("\n", cycles.Distinct()));
    }

    [Fact]
    public void Layers_point_downwards()
    {
        var graph = NamespaceGraph();
        // Lower layers never see the composition root, the application or the demo tasks and experiments.
        foreach (var low in new[] { "AlignSharp.Training", "AlignSharp.Data", "AlignSharp.Models", "AlignSharp.Objectives", "AlignSharp.Config",
                     "AlignSharp.Tokenization", "AlignSharp.IO", "AlignSharp.Evaluation", "AlignSharp.Checkpoints" })
            foreach (var high in new[] { "AlignSharp.Runs", "AlignSharp.Cli", "AlignSharp.Experiments", "AlignSharp.Tasks", "AlignSharp.Workflows" })
                Assert.False(graph.GetValueOrDefault(low, []).Contains(high), $"{low} uses {high}");
        Assert.False(graph["AlignSharp.Training"].Contains("AlignSharp.Config"), "Training uses Config (Config names Training's options)");
    }

    [Fact]
    public void Core_assembly_references_torchsharp_but_not_the_cli_plotting_or_a_libtorch_runtime()
    {
        var core = typeof(AlignSharp.Runs.RunBuilder).Assembly;
        var names = core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("TorchSharp", names);
        Assert.Contains("AlignSharp.Tokenizers", names);
        foreach (var forbidden in new[] { "AlignSharp.Cli", "AlignSharp.Experiments", "ScottPlot", "SkiaSharp", "System.CommandLine", "Spectre.Console" })
            Assert.DoesNotContain(names, n => n.StartsWith(forbidden, StringComparison.Ordinal));
        var tokenizers = typeof(AlignSharp.Tokenization.ITokenizer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(tokenizers, n => n.StartsWith("TorchSharp", StringComparison.Ordinal) || n.StartsWith("AlignSharp", StringComparison.Ordinal));

        // The project files: the runtime package is the application's choice (CLI, tests, bench), never the libraries'.
        foreach (var library in new[] { "AlignSharp", "AlignSharp.Tokenizers", "AlignSharp.Experiments" })
        {
            var packages = References(Path.Combine("src", library, library + ".csproj"));
            Assert.DoesNotContain(packages, p => p.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(packages, p => p.Contains("AlignSharp.Cli", StringComparison.Ordinal));
        }
        Assert.DoesNotContain("ScottPlot", References(Path.Combine("src", "AlignSharp", "AlignSharp.csproj")));
        Assert.DoesNotContain(References(Path.Combine("src", "AlignSharp", "AlignSharp.csproj")), p => p.Contains("Experiments", StringComparison.Ordinal));
        foreach (var app in new[] { Path.Combine("src", "AlignSharp.Cli", "AlignSharp.Cli.csproj"),
                     Path.Combine("tests", "AlignSharp.Tests", "AlignSharp.Tests.csproj"), Path.Combine("bench", "AlignSharp.Bench", "AlignSharp.Bench.csproj") })
            Assert.Contains(References(app), p => p.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("AlignSharp", core.GetName().Name);
        Assert.NotNull(Assembly.Load("AlignSharp.Experiments"));
    }

    /// <summary>Package and project references of a project file.</summary>
    private static List<string> References(string relative) =>
        XDocument.Load(Path.Combine(TestSetup.RepoRoot, relative)).Descendants()
            .Where(e => e.Name.LocalName is "PackageReference" or "ProjectReference")
            .Select(e => (string?)e.Attribute("Include") ?? "").ToList();
}
