namespace AlignSharp.Experiments;

/// <summary>A bad experiment setting (preset, method, beta, output folder): the message names the setting at fault.</summary>
public sealed class ExperimentException(string message) : AlignSharpException(message);
