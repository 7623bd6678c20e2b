namespace AlignSharp.Adapters;

/// <summary>
/// An adapter setting, folder or file does not fit the base model: the message names the key, module or file at fault.
/// </summary>
public sealed class AdapterException(string message, Exception? inner = null) : AlignSharpException(message, inner);
