using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace AlignSharp.Cli;

/// <summary>
/// <c>alignsharp --version</c>: the tool's version with the tensor engine it runs on (TorchSharp's managed version
/// and the libtorch version it was built against), the facts a bug report needs first.
/// </summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    /// <inheritdoc />
    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Text());
        return 0;
    }

    /// <summary>One line: alignsharp, TorchSharp and libtorch versions.</summary>
    internal static string Text()
    {
        static string Informational(Assembly a) =>
            a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? a.GetName().Version?.ToString() ?? "unknown";
        AlignSharp.Runtime.NativeRuntime.EnsureLoaded(); // libtorch's version needs the native library
        var torchSharp = typeof(TorchSharp.torch).Assembly;
        return $"{CliApp.CommandName} {Informational(typeof(CliApp).Assembly)} " +
               $"(TorchSharp {Informational(torchSharp)}, libtorch {TorchSharp.torch.__version__})";
    }
}
