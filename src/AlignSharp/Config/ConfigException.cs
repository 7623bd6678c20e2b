namespace AlignSharp.Config;

/// <summary>A configuration error: the message names the file (or --set), the line and the key.</summary>
public sealed class ConfigException(string message) : AlignSharpException(message);
