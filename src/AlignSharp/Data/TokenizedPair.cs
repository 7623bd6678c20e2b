using AlignSharp.Tokenization;

namespace AlignSharp.Data;

/// <summary>A pair as token ids: the prompt (never scored) and the two completions (scored, EOS appended once).</summary>
public sealed record TokenizedPair(int[] Prompt, int[] Chosen, int[] Rejected, PreferenceExample Example);

/// <summary>Turns text pairs into ids: BOS once before the prompt (if the tokenizer has one), EOS once after each completion.</summary>
public sealed class PairTokenizer(ITokenizer tokenizer, int maxLength)
{
    /// <summary>Tokenizes one pair; completions are cut to fit <c>maxLength</c> together with the prompt.</summary>
    public TokenizedPair Tokenize(PreferenceExample e)
    {
        var prompt = new List<int>();
        if (tokenizer.BosId is { } bos) prompt.Add(bos);
        prompt.AddRange(tokenizer.Encode(e.Prompt));
        return new TokenizedPair(prompt.ToArray(), Completion(e.Chosen, prompt.Count), Completion(e.Rejected, prompt.Count), e);
    }

    private int[] Completion(string text, int promptLength)
    {
        var ids = tokenizer.Encode(text).ToList();
        if (tokenizer.EosId is { } eos && (ids.Count == 0 || ids[^1] != eos)) ids.Add(eos);
        int room = Math.Max(1, maxLength - promptLength);
        return ids.Count > room ? ids.GetRange(0, room).ToArray() : ids.ToArray();
    }
}
