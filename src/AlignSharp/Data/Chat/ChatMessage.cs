namespace AlignSharp.Data.Chat;

/// <summary>One turn of a conversation: a role (system, user, assistant, ...) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);
