using System.CommandLine;
using AlignSharp.Config;
using AlignSharp.IO;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp config docs [--output FILE]</c>: the run-config reference (docs/config.md) from the config records.</summary>
internal sealed class ConfigCommand : ICliCommand
{
    public Command Build()
    {
        var output = new Option<string?>("--output") { Description = "write the markdown to this file (atomically)" };
        var docs = new Command("docs", "Generate the run-config reference (docs/config.md) from the config records.")
        {
            output,
        };
        docs.SetAction(r =>
        {
            string markdown = ConfigDocs.Markdown();
            if (r.GetValue(output) is not { } file)
            {
                Console.Write(markdown);
                return 0;
            }
            Runs.RunCheck.Writable(Path.GetDirectoryName(Path.GetFullPath(file))!, $"--output {file}", "folder");
            AtomicFile.WriteAllText(file, markdown);
            Console.WriteLine($"wrote {file}");
            return 0;
        });
        return new Command("config", "The run-config reference: every key, type, default, range and TRL name.") { docs };
    }
}
