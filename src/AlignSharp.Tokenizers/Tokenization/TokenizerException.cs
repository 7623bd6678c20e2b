namespace AlignSharp.Tokenization;

/// <summary>A tokenizer file is missing, malformed or uses a feature AlignSharp does not support; the message names the file and the key.</summary>
public sealed class TokenizerException(string message, Exception? inner = null) : AlignSharpException(message, inner);
