using System.CommandLine;
using System.CommandLine.Help;
using AlignSharp.Cli;

return CliApp.Run(args);

namespace AlignSharp.Cli
{
    /// <summary>Entry point shared by the executable and the tests.</summary>
    public static class CliApp
    {
        /// <summary>The command's name as users type it (the packed tool's command), whatever the assembly is called.</summary>
        public const string CommandName = "alignsharp";

        /// <summary>Parses and runs one command line; returns the exit code.</summary>
        public static int Run(string[] args)
        {
            LauncherConsole.UsePlainOutputUnderLauncher(Environment.GetEnvironmentVariable);
            var root = Build();
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

        /// <summary>
        /// The root command. A plain <see cref="Command"/> named <see cref="CommandName"/> rather than
        /// <see cref="RootCommand"/>, whose name is the executable's file name (<c>AlignSharp.Cli</c> under
        /// <c>dotnet tool</c> and <c>dotnet run</c>), so help and errors say what users type.
        /// </summary>
        internal static Command Build()
        {
            var root = new Command(CommandName,
                "align causal language models with preference data (DPO and its family).");
            root.Options.Add(new HelpOption());
            root.Options.Add(new VersionOption { Action = new VersionAction() });
            var commands = typeof(CliApp).Assembly.GetTypes()
                .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
                .Select(t => ((ICliCommand)Activator.CreateInstance(t)!).Build())
                .OrderBy(c => c.Name, StringComparer.Ordinal);
            foreach (var c in commands) root.Subcommands.Add(c);
            // No command at all: show the help (what a first-time user needs), and succeed.
            root.SetAction(parse =>
            {
                new HelpAction().Invoke(parse);
                return 0;
            });
            return root;
        }
    }
}
