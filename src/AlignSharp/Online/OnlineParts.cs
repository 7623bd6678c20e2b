using AlignSharp.Config;
using AlignSharp.Models;
using AlignSharp.Tokenization;
using AlignSharp.Training;

namespace AlignSharp.Online;

/// <summary>The run pieces the loop takes from the project's wiring: tokenizer, pad id, starting model, file writes.</summary>
internal static class OnlineParts
{
    public static ITokenizer Tokenizer(RunConfig run) => TrainingRun.CreateTokenizer(run);

    public static int PadId(ITokenizer tokenizer) => tokenizer.PadId ?? tokenizer.EosId ?? 0;

    public static CausalLM StartingModel(RunConfig run, ITokenizer tokenizer) => TrainingRun.CreateModel(run, tokenizer);

    public static void WriteAllText(string path, string text) => AtomicFile.WriteAllText(path, text);
}
