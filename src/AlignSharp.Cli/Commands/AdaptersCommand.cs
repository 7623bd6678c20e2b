using System.CommandLine;
using AlignSharp.Adapters;
using AlignSharp.Runs;

namespace AlignSharp.Cli.Commands;

/// <summary><c>alignsharp adapters merge --base DIR --adapter DIR --out DIR</c>: fold a LoRA adapter into its base.</summary>
internal sealed class AdaptersCommand : ICliCommand
{
    public Command Build()
    {
        var baseDir = new Option<DirectoryInfo>("--base") { Description = "the base model's Hugging Face folder", Required = true };
        var adapter = new Option<DirectoryInfo>("--adapter")
        {
            Description = "adapter folder (adapter_config.json + adapter_model.safetensors, ours or PEFT's)", Required = true,
        };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "folder for the merged model", Required = true };
        var merge = new Command("merge", "Write a plain Hugging Face folder with the adapter folded into the base weights.")
        {
            baseDir, adapter, output,
        };
        merge.SetAction(r =>
        {
            string b = r.GetValue(baseDir)!.FullName, a = r.GetValue(adapter)!.FullName, o = r.GetValue(output)!.FullName;
            RunCheck.Writable(Path.GetDirectoryName(o)!, $"--out {o}", "folder"); // the merged folder is made beside
            AdapterMerge.Merge(b, a, o);
            Console.WriteLine($"merged {a} into {b}: {o}");
            return 0;
        });
        return new Command("adapters", "LoRA adapters in PEFT's format.") { merge };
    }
}
