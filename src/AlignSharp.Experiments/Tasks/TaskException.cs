namespace AlignSharp.Tasks;

/// <summary>A bad argument to the controlled task (a count, a scale, a file): the message names the setting at fault.</summary>
public sealed class TaskException(string message) : AlignSharpException(message);
