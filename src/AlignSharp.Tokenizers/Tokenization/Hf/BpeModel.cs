using System.Collections.Concurrent;
using System.Text;

namespace AlignSharp.Tokenization.Hf;

/// <summary>
/// Hugging Face's BPE model: a word's characters (or, with byte fallback, the <c>&lt;0xNN&gt;</c> tokens of
/// characters missing from the vocabulary) are merged pairwise, lowest merge rank first and leftmost first
/// among equal ranks, exactly as <c>tokenizers</c> does.
/// Written here instead of using Microsoft.ML.Tokenizers' <c>BpeTokenizer</c> because that class has no byte
/// fallback (Mistral, Llama 2), and one engine for all four golden tokenizers keeps behaviour in one place;
/// the library's BPE is used as an independent oracle in the tests. Encoded words are cached.
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCachedWords = 200_000;
    private const int MaxCachedWordLength = 256;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int? _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly int[]? _byteIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cachedWords; // ConcurrentDictionary.Count takes every lock, so count insertions here

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string? unkToken,
        bool fuseUnk, bool byteFallback, bool ignoreMerges, string source)
    {
        _vocab = vocab;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        if (unkToken is not null)
        {
            if (!vocab.TryGetValue(unkToken, out int unk))
                throw new TokenizerException($"{source}: model.unk_token '{unkToken}' is not in model.vocab");
            _unkId = unk;
        }
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.TryGetValue(left, out int a) || !vocab.TryGetValue(right, out int b) || !vocab.TryGetValue(left + right, out int merged))
                throw new TokenizerException($"{source}: model.merges[{rank}] ('{left}' '{right}') uses a token missing from model.vocab");
            _merges.TryAdd(Key(a, b), (rank, merged));
        }
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (int b = 0; b < 256; b++) _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }
    }

    /// <summary>Appends the ids of one pre-tokenized word to <paramref name="output"/>.</summary>
    public void EncodeWord(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (_cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        var ids = Merge(word);
        if (word.Length <= MaxCachedWordLength)
        {
            if (_cachedWords >= MaxCachedWords)
            {
                _cache.Clear();
                _cachedWords = 0;
            }
            if (_cache.TryAdd(word, ids)) Interlocked.Increment(ref _cachedWords);
        }
        output.AddRange(ids);
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private int[] Merge(string word)
    {
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole)) return [whole];
        // Most words have few symbols: merge them in a stack buffer; long ones go through the priority queue.
        Span<int> buffer = word.Length <= SmallWord ? stackalloc int[SmallWord * 4] : default;
        var initial = new SymbolList(buffer);
        AddInitialSymbols(word, ref initial);
        if (initial.Count < 2) return initial.ToArray();
        return initial.Count <= SmallWord * 4 && word.Length <= SmallWord ? MergeSmall(initial.AsSpan()) : ApplyMerges(initial.ToList());
    }

    private const int SmallWord = 32;

    /// <summary>Initial symbols: one per Unicode scalar (never per UTF-16 code unit), byte fallback, fused unknowns.</summary>
    private void AddInitialSymbols(string word, ref SymbolList ids)
    {
        bool lastWasUnk = false;
        var lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < word.Length;)
        {
            int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var symbol = word.AsSpan(i, len);
            i += len;
            if (lookup.TryGetValue(symbol, out int id))
            {
                ids.Add(id);
                lastWasUnk = false;
                continue;
            }
            if (_byteFallback)
            {
                int n = Encoding.UTF8.GetBytes(symbol, utf8);
                bool all = true;
                for (int k = 0; k < n; k++) all &= _byteIds![utf8[k]] >= 0;
                if (all)
                {
                    for (int k = 0; k < n; k++) ids.Add(_byteIds![utf8[k]]);
                    lastWasUnk = false;
                    continue;
                }
            }
            if (_unkId is int unk)
            {
                if (!(_fuseUnk && lastWasUnk)) ids.Add(unk);
                lastWasUnk = true;
            }
            // Without an unknown token Hugging Face drops the character; so do we.
        }
    }

    /// <summary>
    /// Repeatedly merges the adjacent pair of lowest rank (leftmost among equal ranks): the same order as the
    /// priority queue in <see cref="ApplyMerges"/>, cheaper for short words.
    /// </summary>
    private int[] MergeSmall(Span<int> symbols)
    {
        int count = symbols.Length;
        // rank[i] / merged[i]: the merge of symbols i and i+1 (int.MaxValue when there is none), kept up to date
        // so each step looks up only the two pairs next to the merge.
        Span<int> rank = stackalloc int[count];
        Span<int> merged = stackalloc int[count];
        for (int i = 0; i + 1 < count; i++) LookupPair(symbols, i, rank, merged);
        while (count > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < count; i++)
                if (rank[i] < bestRank) (best, bestRank) = (i, rank[i]);
            if (best < 0) break;
            symbols[best] = merged[best];
            symbols[(best + 2)..count].CopyTo(symbols[(best + 1)..]);
            if (best + 2 < count)
            {
                rank[(best + 2)..(count - 1)].CopyTo(rank[(best + 1)..]);
                merged[(best + 2)..(count - 1)].CopyTo(merged[(best + 1)..]);
            }
            count--;
            if (best + 1 < count) LookupPair(symbols, best, rank, merged);
            if (best > 0) LookupPair(symbols, best - 1, rank, merged);
        }
        return symbols[..count].ToArray();
    }

    private void LookupPair(Span<int> symbols, int i, Span<int> rank, Span<int> merged)
    {
        if (_merges.TryGetValue(Key(symbols[i], symbols[i + 1]), out var m)) (rank[i], merged[i]) = (m.Rank, m.Id);
        else rank[i] = int.MaxValue;
    }

    /// <summary>A growable list of ids that starts in a caller's stack buffer.</summary>
    private ref struct SymbolList(Span<int> buffer)
    {
        private Span<int> _span = buffer;
        private List<int>? _overflow;

        public int Count { get; private set; }

        public void Add(int id)
        {
            if (_overflow is null && Count < _span.Length)
            {
                _span[Count++] = id;
                return;
            }
            _overflow ??= [.. _span[..Count]];
            _overflow.Add(id);
            Count++;
        }

        public readonly Span<int> AsSpan() => _overflow is null ? _span[..Count] : System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_overflow);

        public readonly int[] ToArray() => AsSpan().ToArray();

        public readonly List<int> ToList() => _overflow ?? [.. _span[..Count]];
    }

    /// <summary>Merges adjacent symbols by rank with a priority queue over a linked list (O(n log n)).</summary>
    private int[] ApplyMerges(List<int> initial)
    {
        int n = initial.Count;
        var id = initial.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
        }
        var queue = new PriorityQueue<int, long>();
        for (int i = 0; i + 1 < n; i++)
            if (_merges.TryGetValue(Key(id[i], id[i + 1]), out var m)) queue.Enqueue(i, ((long)m.Rank << 32) | (uint)i);

        while (queue.TryDequeue(out int pos, out long priority))
        {
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!_merges.TryGetValue(Key(id[pos], id[right]), out var m) || m.Rank != (int)(priority >> 32)) continue;
            id[pos] = m.Id;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0 && _merges.TryGetValue(Key(id[prev[pos]], id[pos]), out var left))
                queue.Enqueue(prev[pos], ((long)left.Rank << 32) | (uint)prev[pos]);
            if (next[pos] >= 0 && _merges.TryGetValue(Key(id[pos], id[next[pos]]), out var after))
                queue.Enqueue(pos, ((long)after.Rank << 32) | (uint)pos);
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(id[i]);
        return [.. result];
    }
}
