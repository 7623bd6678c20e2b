using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AlignSharp.Config;

/// <summary>
/// A YAML configuration as a tree of mappings and scalars that remembers where each value came from
/// (file and line, or the --set override), so binding errors can name the place at fault.
/// </summary>
public sealed class ConfigTree
{
    private ConfigTree(YamlMappingNode root, string source)
    {
        Root = root;
        Source = source;
    }

    /// <summary>The top-level mapping.</summary>
    public YamlMappingNode Root { get; }

    /// <summary>The file the tree was read from.</summary>
    public string Source { get; }

    private readonly Dictionary<YamlNode, string> overrides = new(ReferenceEqualityComparer.Instance);

    /// <summary>Reads a YAML file; syntax errors name the file and line.</summary>
    public static ConfigTree Load(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"config file not found: {path}");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses YAML text whose origin is <paramref name="source"/>.</summary>
    public static ConfigTree Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new ConfigException($"{source}:{e.Start.Line}: invalid YAML ({e.Message})"); }
        if (stream.Documents.Count == 0) return new ConfigTree(new YamlMappingNode(), source);
        return stream.Documents[0].RootNode is YamlMappingNode m
            ? new ConfigTree(m, source)
            : throw new ConfigException($"{source}: the top level must be a mapping of sections");
    }

    /// <summary>Applies one <c>key.path=value</c> override, creating mappings on the way.</summary>
    public void Set(string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set {assignment}: expected key=value (e.g. training.learning_rate=1e-5)");
        var path = assignment[..eq].Trim().Split('.');
        string value = assignment[(eq + 1)..].Trim();
        var node = Root;
        for (int i = 0; i < path.Length - 1; i++)
        {
            var key = new YamlScalarNode(path[i]);
            if (!node.Children.TryGetValue(key, out var child))
            {
                child = new YamlMappingNode();
                overrides[key] = overrides[child] = $"--set {assignment}";
                node.Children[key] = child;
            }
            node = child as YamlMappingNode ?? throw new ConfigException($"--set {assignment}: '{string.Join('.', path[..(i + 1)])}' is a value, not a section");
        }
        var scalar = new YamlScalarNode(value);
        var keyNode = new YamlScalarNode(path[^1]);
        overrides[scalar] = overrides[keyNode] = $"--set {assignment}";
        node.Children.Remove(keyNode);
        node.Children[keyNode] = scalar;
    }

    /// <summary>Where a node came from, for messages: "file:line" or "--set k=v".</summary>
    public string Where(YamlNode node) => overrides.TryGetValue(node, out var o) ? o : $"{Source}:{node.Start.Line}";
}
