using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AlignSharp.Tokenization.ChatTemplates;

/// <summary>Converts JSON nodes to the engine's Python values: objects keep key order, null is None, numbers keep int vs float.</summary>
internal static class JsonToPython
{
    public static object? Convert(JsonNode? node)
    {
        switch (node)
        {
            case null: return null;
            case JsonObject o:
                var d = new PyDict();
                foreach (var (k, v) in o) d[k] = Convert(v);
                return d;
            case JsonArray a:
                return a.Select(Convert).ToList();
            case JsonValue v:
                var kind = v.GetValueKind();
                return kind switch
                {
                    JsonValueKind.String => v.TryGetValue<string>(out var s) ? s : JsonSerializer.Deserialize<string>(v.ToJsonString()),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    JsonValueKind.Number => Number(v.ToJsonString()),
                    _ => throw new ChatTemplateException($"unsupported JSON value kind {kind} in template variables", 0),
                };
            default:
                throw new ChatTemplateException($"unsupported JSON node {node.GetType().Name} in template variables", 0);
        }
    }

    private static object Number(string raw)
    {
        if (raw.IndexOfAny(['.', 'e', 'E']) < 0)
        {
            if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            return BigInteger.Parse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture); // Python ints are unbounded
        }
        return double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
