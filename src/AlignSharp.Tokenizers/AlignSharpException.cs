namespace AlignSharp;

/// <summary>
/// Base of every error caused by user input (data, config, checkpoint, template): its message names the
/// file, line or key at fault and is meant to be shown as one line. Areas derive their own types.
/// </summary>
public class AlignSharpException(string message, Exception? inner = null) : Exception(message, inner);
