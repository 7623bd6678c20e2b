using System.Text.Json.Nodes;
using AlignSharp.Tokenization.ChatTemplates;

namespace AlignSharp.Tests.ChatTemplates;

/// <summary>Renders a hand-written template with no messages (or the given ones) and optional extra variables.</summary>
internal static class TemplateTestKit
{
    public static readonly FixedClock Clock = new(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));

    public static string Render(string template, string? extraJson = null, string messagesJson = "[]") =>
        ChatTemplate.Parse(template).Render(new ChatTemplateInput(JsonNode.Parse(messagesJson)!.AsArray())
        {
            Extra = extraJson is null ? null : JsonNode.Parse(extraJson)!.AsObject(),
        }, Clock);
}
