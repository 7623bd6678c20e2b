using AlignSharp.Config;

namespace AlignSharp.Cli.Commands;

/// <summary>The <c>--config FILE</c> and <c>--set key=value</c> arguments that train and validate share.</summary>
internal static class ConfigArguments
{
    /// <summary>
    /// The config of <paramref name="file"/> with the overrides applied; without a file, the defaults with the overrides
    /// (only where <paramref name="allowDefaults"/>: printing the defaults needs no file, training does).
    /// </summary>
    public static RunConfig Load(FileInfo? file, string[]? sets, bool allowDefaults)
    {
        if (file is not null) return RunConfig.Load(file.FullName, sets ?? []);
        if (!allowDefaults)
            throw new ConfigException("--config FILE is required (a YAML run config: docs/config.md, examples/); " +
                "'alignsharp train --print-config' prints every key with its default");
        var tree = ConfigTree.Parse("", "(defaults)");
        foreach (var s in sets ?? []) tree.Set(s);
        return RunConfig.FromTree(tree);
    }

    /// <summary>Comment lines naming what the printed config was resolved from.</summary>
    public static string[] Header(FileInfo? file, string[]? sets) =>
    [
        "resolved run config (alignsharp train --print-config): every key, defaults filled in; docs/config.md",
        "from: " + (file?.FullName ?? "the defaults") + string.Concat((sets ?? []).Select(s => $" --set {s}")),
    ];
}
