using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AlignSharp.Data;

namespace AlignSharp.Online;

/// <summary>
/// A training pair as written to an iteration's <c>pairs.jsonl</c>: texts, token ids (what was trained on), scores,
/// where each completion came from, and the judge's raw replies (both orders, every attempt). Replay reads these back.
/// </summary>
public sealed record PairRecord(int Iteration, string Prompt, string Chosen, string Rejected, double ChosenScore,
    double RejectedScore, string ChosenSource, string RejectedSource, int[] PromptIds, int[] ChosenIds,
    int[] RejectedIds)
{
    /// <summary>The judge's raw replies for this comparison (empty without a judge).</summary>
    public IReadOnlyList<string> JudgeReplies { get; init; } = [];

    /// <summary>Win probabilities against the group (judge scoring), for SPPO; NaN otherwise.</summary>
    public double ChosenWinProb { get; init; } = double.NaN;

    /// <summary>See <see cref="ChosenWinProb"/>.</summary>
    public double RejectedWinProb { get; init; } = double.NaN;

    /// <summary>The record of <paramref name="pair"/> made in <paramref name="iteration"/>.</summary>
    public static PairRecord From(OnlinePair pair, int iteration)
    {
        var g = pair.Group;
        var c = g.Group.Candidates[pair.Chosen];
        var r = g.Group.Candidates[pair.Rejected];
        return new PairRecord(iteration, g.Group.Prompt, c.Text, r.Text, pair.ChosenScore, pair.RejectedScore,
            c.Source, r.Source, g.Group.PromptIds, c.Ids, r.Ids)
        {
            JudgeReplies = g.RepliesFor(pair.Chosen, pair.Rejected),
            ChosenWinProb = g.HasWinProbabilities ? pair.ChosenScore : double.NaN,
            RejectedWinProb = g.HasWinProbabilities ? pair.RejectedScore : double.NaN,
        };
    }

    /// <summary>
    /// The tokenized pair the trainer sees; extras carry the scores (<c>chosen_score</c>, <c>rejected_score</c>) and,
    /// when a judge scored the pair, <c>chosen_win_prob</c> and <c>rejected_win_prob</c> (SPPO's inputs).
    /// </summary>
    public TokenizedPair ToTokenized(int line)
    {
        var extras = new Dictionary<string, double>
        {
            ["chosen_score"] = ChosenScore, ["rejected_score"] = RejectedScore,
        };
        if (!double.IsNaN(ChosenWinProb))
        {
            extras["chosen_win_prob"] = ChosenWinProb;
            extras["rejected_win_prob"] = RejectedWinProb;
        }
        var source = new SourceLocation($"iteration-{Iteration}", line);
        var example = new PreferenceExample(Prompt, Chosen, Rejected, source)
        {
            Extras = extras,
        };
        return new TokenizedPair(PromptIds, ChosenIds, RejectedIds, example);
    }
}

/// <summary>Reads and writes <see cref="PairRecord"/> JSONL (one object per line, UTF-8).</summary>
public static class PairRecordsFile
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The JSONL text of <paramref name="records"/>.</summary>
    public static string ToJsonl(IEnumerable<PairRecord> records)
    {
        using var stream = new MemoryStream();
        foreach (var r in records)
        {
            using (var json = new Utf8JsonWriter(stream, Options))
            {
                json.WriteStartObject();
                json.WriteNumber("iteration", r.Iteration);
                json.WriteString("prompt", r.Prompt);
                json.WriteString("chosen", r.Chosen);
                json.WriteString("rejected", r.Rejected);
                json.WriteNumber("chosen_score", r.ChosenScore);
                json.WriteNumber("rejected_score", r.RejectedScore);
                if (!double.IsNaN(r.ChosenWinProb))
                {
                    json.WriteNumber("chosen_win_prob", r.ChosenWinProb);
                    json.WriteNumber("rejected_win_prob", r.RejectedWinProb);
                }
                json.WriteString("chosen_source", r.ChosenSource);
                json.WriteString("rejected_source", r.RejectedSource);
                json.WriteStartArray("judge");
                foreach (var reply in r.JudgeReplies) json.WriteStringValue(reply);
                json.WriteEndArray();
                WriteIds(json, "prompt_ids", r.PromptIds);
                WriteIds(json, "chosen_ids", r.ChosenIds);
                WriteIds(json, "rejected_ids", r.RejectedIds);
                json.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteIds(Utf8JsonWriter json, string name, int[] ids)
    {
        json.WriteStartArray(name);
        foreach (var id in ids) json.WriteNumberValue(id);
        json.WriteEndArray();
    }

    /// <summary>
    /// Reads a file written by <see cref="ToJsonl"/>; a damaged line is an error naming the file and line.
    /// </summary>
    public static List<PairRecord> Read(string path)
    {
        var records = new List<PairRecord>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (text.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var e = doc.RootElement;
                records.Add(new PairRecord(e.GetProperty("iteration").GetInt32(), e.GetProperty("prompt").GetString()!,
                    e.GetProperty("chosen").GetString()!, e.GetProperty("rejected").GetString()!,
                    e.GetProperty("chosen_score").GetDouble(), e.GetProperty("rejected_score").GetDouble(),
                    e.GetProperty("chosen_source").GetString()!, e.GetProperty("rejected_source").GetString()!,
                    Ids(e, "prompt_ids"), Ids(e, "chosen_ids"), Ids(e, "rejected_ids"))
                {
                    JudgeReplies = [.. e.GetProperty("judge").EnumerateArray().Select(x => x.GetString()!)],
                    ChosenWinProb = e.TryGetProperty("chosen_win_prob", out var cw) ? cw.GetDouble() : double.NaN,
                    RejectedWinProb = e.TryGetProperty("rejected_win_prob", out var rw) ? rw.GetDouble() : double.NaN,
                });
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new OnlineException($"{path}:{line}: not a pair record ({ex.Message})");
            }
        }
        return records;
    }

    private static int[] Ids(JsonElement e, string name) =>
        [.. e.GetProperty(name).EnumerateArray().Select(x => x.GetInt32())];
}

/// <summary>
/// A problem with an online run's inputs or its output folder; the message names the file or setting.
/// </summary>
public sealed class OnlineException(string message) : AlignSharpException(message);
