using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AlignSharp.Tasks;

/// <summary>One operation of a word problem: a count changes by <see cref="Amount"/> (+ or -).</summary>
/// <param name="Actor">Who acts (a name from the prompt).</param>
/// <param name="Verb">gets, finds, gives or loses.</param>
/// <param name="Amount">How many, 1-9.</param>
public sealed record ArithmeticEvent(string Actor, string Verb, int Amount)
{
    /// <summary>'+' for gets/finds, '-' for gives/loses.</summary>
    public char Op => Verb is "gets" or "finds" ? '+' : '-';
}

/// <summary>One expected solution step: <c>Left Op Right = Result</c>.</summary>
public sealed record ArithmeticStep(int Left, char Op, int Right, int Result)
{
    /// <summary>The step as the solution writes it: "5 + 3 = 8".</summary>
    public override string ToString() => FormattableString.Invariant($"{Left} {Op} {Right} = {Result}");
}

/// <summary>
/// A short arithmetic word problem: a starting count and one or more events, e.g.
/// <c>"q: ann has 5 pens . ann gets 3 more . ann gives 2 away . how many pens ?"</c>, whose solution is
/// <c>" 5 + 3 = 8 , 8 - 2 = 6 , answer 6 ."</c>: one step per event, then the final answer.
/// </summary>
public sealed partial record ArithmeticProblem(string Name, string Item, int Start,
    IReadOnlyList<ArithmeticEvent> Events)
{
    /// <summary>Prefix of every prompt.</summary>
    public const string PromptPrefix = "q: ";

    /// <summary>The prompt text.</summary>
    public string Prompt
    {
        get
        {
            var sb = new StringBuilder(PromptPrefix)
                .Append(CultureInfo.InvariantCulture, $"{Name} has {Start} {Item} .");
            foreach (var e in Events)
            {
                sb.Append(CultureInfo.InvariantCulture, $" {e.Actor} {e.Verb} {e.Amount}");
                if (e.Verb is "gets" or "finds") sb.Append(" more");
                else if (e.Verb == "gives") sb.Append(" away");
                sb.Append(" .");
            }
            return sb.Append($" how many {Item} ?").ToString();
        }
    }

    /// <summary>The expected steps, one per event.</summary>
    public IReadOnlyList<ArithmeticStep> Steps
    {
        get
        {
            var steps = new List<ArithmeticStep>();
            int value = Start;
            foreach (var e in Events)
            {
                int next = e.Op == '+' ? value + e.Amount : value - e.Amount;
                steps.Add(new ArithmeticStep(value, e.Op, e.Amount, next));
                value = next;
            }
            return steps;
        }
    }

    /// <summary>The final count.</summary>
    public int Answer => Steps.Count == 0 ? Start : Steps[^1].Result;

    /// <summary>The reference solution (a completion of <see cref="Prompt"/>).</summary>
    public string Solution =>
        " " + string.Concat(Steps.Select(s => s + " , "))
            + string.Create(CultureInfo.InvariantCulture, $"answer {Answer} .");

    /// <summary>Reads a prompt written by <see cref="Prompt"/> back; null when it is not one.</summary>
    public static ArithmeticProblem? Parse(string prompt)
    {
        var m = PromptPattern().Match(prompt);
        if (!m.Success || m.Groups["item"].Value != m.Groups["item2"].Value) return null;
        var events = new List<ArithmeticEvent>();
        for (int i = 0; i < m.Groups["actor"].Captures.Count; i++)
        {
            string verb = m.Groups["verb"].Captures[i].Value, tail = m.Groups["tail"].Captures[i].Value;
            string expected = verb is "gets" or "finds" ? " more" : verb == "gives" ? " away" : "";
            if (tail != expected) return null;
            events.Add(new ArithmeticEvent(m.Groups["actor"].Captures[i].Value, verb,
                int.Parse(m.Groups["amount"].Captures[i].Value, CultureInfo.InvariantCulture)));
        }
        return new ArithmeticProblem(m.Groups["name"].Value, m.Groups["item"].Value,
            int.Parse(m.Groups["start"].Value, CultureInfo.InvariantCulture), events);
    }

    [GeneratedRegex(@"^q: (?<name>[a-z]+) has (?<start>\d+) (?<item>[a-z]+) \.(?: (?<actor>[a-z]+) " +
        @"(?<verb>gets|finds|gives|loses) (?<amount>\d+)(?<tail>(?: more| away)?) \.)+ how many (?<item2>[a-z]+) \?$")]
    private static partial Regex PromptPattern();
}

/// <summary>
/// Writes arithmetic word problems deterministically for a seed: a start of 1-9 and 1 to <see cref="MaxEvents"/>
/// events of 1-9 each, never going below zero, so every intermediate count is at most 9 * (events + 1). Small enough
/// that a tiny byte-level model trained on solved problems learns the format and gets many, not all, answers right.
/// </summary>
public sealed class ArithmeticGenerator
{
    private static readonly string[] Names = ["ann", "bob", "eva", "max", "sue", "tom"];
    private static readonly string[] Items = ["apples", "books", "cards", "coins", "pens"];
    private static readonly string[] Verbs = ["gets", "finds", "gives", "loses"];

    /// <summary>Most events per problem (1-4).</summary>
    public int MaxEvents { get; }

    /// <summary>A generator of problems with 1 to <paramref name="maxEvents"/> events.</summary>
    public ArithmeticGenerator(int maxEvents = 2) =>
        MaxEvents = maxEvents is >= 1 and <= 4 ? maxEvents
            : throw new TaskException($"arithmetic max_events must be in 1..4, got {maxEvents}");

    /// <summary>The generator with at most two events.</summary>
    public static ArithmeticGenerator Default { get; } = new();

    /// <summary>One problem drawn from <paramref name="rng"/>.</summary>
    public ArithmeticProblem Problem(Random rng)
    {
        string name = Names[rng.Next(Names.Length)], item = Items[rng.Next(Items.Length)];
        int start = rng.Next(1, 10), value = start, count = rng.Next(1, MaxEvents + 1);
        var events = new List<ArithmeticEvent>();
        for (int i = 0; i < count; i++)
        {
            string verb = Verbs[rng.Next(Verbs.Length)];
            int amount = rng.Next(1, 10);
            if (verb is "gives" or "loses")
            {
                if (value == 0) verb = "gets"; // nothing left to give: the count only grows
                else amount = Math.Min(amount, value);
            }
            value += verb is "gets" or "finds" ? amount : -amount;
            events.Add(new ArithmeticEvent(name, verb, amount));
        }
        return new ArithmeticProblem(name, item, start, events);
    }

    /// <summary><paramref name="count"/> problems drawn with <paramref name="seed"/>.</summary>
    public IReadOnlyList<ArithmeticProblem> Problems(int count, int seed)
    {
        if (count < 0) throw new TaskException($"problem count must be >= 0, got {count}");
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Problem(rng)).ToList();
    }

    /// <summary><paramref name="count"/> prompts drawn with <paramref name="seed"/>.</summary>
    public IReadOnlyList<string> Prompts(int count, int seed) => Problems(count, seed).Select(p => p.Prompt).ToList();

    /// <summary>
    /// A pretraining/SFT corpus: <paramref name="count"/> prompts each followed by its reference solution.
    /// </summary>
    public IReadOnlyList<string> Corpus(int count, int seed) =>
        Problems(count, seed).Select(p => p.Prompt + p.Solution).ToList();
}
