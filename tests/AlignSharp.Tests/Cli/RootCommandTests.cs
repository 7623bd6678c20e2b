using AlignSharp.Cli;

namespace AlignSharp.Tests.Cli;

/// <summary>What a user meets first: the command's own name in help, help without arguments, a useful version.</summary>
[Collection("Console")]
public sealed class RootCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliConsole.Run(args);

    [Fact]
    public void No_arguments_prints_help_naming_alignsharp_and_succeeds()
    {
        var (code, output, _) = Run();
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("alignsharp [command] [options]", output);
        Assert.Contains("train", output);
        Assert.DoesNotContain("AlignSharp.Cli", output);
    }

    [Fact]
    public void Subcommand_help_names_the_tool_not_the_assembly()
    {
        var (code, output, _) = Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("alignsharp train [options]", output);
        Assert.DoesNotContain("AlignSharp.Cli", output);
    }

    [Fact]
    public void Version_names_the_tool_and_the_tensor_engine()
    {
        var (code, output, _) = Run("--version");
        Assert.Equal(0, code);
        string expectedTorchSharp = typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3);
        Assert.StartsWith("alignsharp ", output);
        Assert.Contains($"TorchSharp {expectedTorchSharp}", output);
        Assert.Contains($"libtorch {TorchSharp.torch.__version__}", output);
    }

    [Fact]
    public void Unknown_command_fails()
    {
        var (code, _, err) = Run("bogus");
        Assert.NotEqual(0, code);
        Assert.Contains("bogus", err);
    }
}
