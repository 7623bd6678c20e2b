using System.CommandLine;

namespace AlignSharp.Cli;

/// <summary>One top-level `alignsharp` command. Implementations are discovered by reflection, one file each in Commands/.</summary>
public interface ICliCommand
{
    /// <summary>Builds the System.CommandLine command with its options and action.</summary>
    Command Build();
}
