namespace AlignSharp.Checkpoints;

/// <summary>A checkpoint file or folder is unreadable, malformed or does not match the model: the message names the file and the tensor or key.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : AlignSharpException(message, inner);
