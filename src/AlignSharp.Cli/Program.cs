using System.CommandLine;
using AlignSharp.Cli;

return CliApp.Run(args);

namespace AlignSharp.Cli
{
    /// <summary>Entry point shared by the executable and the tests.</summary>
    public static class CliApp
    {
        /// <summary>Parses and runs one command line; returns the exit code.</summary>
        public static int Run(string[] args)
        {
            var root = new RootCommand("alignsharp: align causal language models with preference data (DPO and its family).");
            var commands = typeof(CliApp).Assembly.GetTypes()
                .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
                .Select(t => ((ICliCommand)Activator.CreateInstance(t)!).Build())
                .OrderBy(c => c.Name, StringComparer.Ordinal);
            foreach (var c in commands) root.Subcommands.Add(c);
            try
            {
                return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception e) when (CliErrors.IsUserError(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }
    }
}
