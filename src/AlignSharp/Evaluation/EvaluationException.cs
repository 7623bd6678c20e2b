namespace AlignSharp.Evaluation;

/// <summary>An evaluation input error (mismatched lists, a bad setting): the message names the argument at fault.</summary>
public sealed class EvaluationException(string message) : AlignSharpException(message);
