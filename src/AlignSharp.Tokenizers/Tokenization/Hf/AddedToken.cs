namespace AlignSharp.Tokenization.Hf;

/// <summary>One entry of <c>tokenizer.json</c>'s <c>added_tokens</c>, with Hugging Face's matching flags.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool Normalized, bool LStrip, bool RStrip, bool SingleWord);
