using AlignSharp.IO;
using System.Security.Cryptography;
using AlignSharp.Data;
using AlignSharp.Data.Batching;
using AlignSharp.Distributed;
using AlignSharp.Models;
using static TorchSharp.torch;

namespace AlignSharp.Training;

/// <summary>
/// Reference log-probs computed once and kept on disk. The cache folder is keyed by a hash of the reference
/// weights (and the matmul dtype when not the weights' own); each row is keyed by a hash of its token ids (prompt and completion), which already reflect the data,
/// the tokenizer and the truncation settings. After <see cref="Precompute(IExampleSet, int, int, bool)"/>, training runs no reference forward,
/// in this epoch, later epochs and later runs on the same data.
/// Per-token values, for objectives that request them, are kept beside the sums in a second file
/// (<c>reftokens-*.bin</c>), filled only when asked for: 4 bytes per completion token plus 20 per row, so 10,000 pairs
/// of 200-token completions take 16 MB (the sums file takes 24 bytes per row).
/// In a data-parallel job (<see cref="Distribute"/>) each rank computes its share of every missing batch's rows and
/// gathers the rest, so every rank holds the whole cache, and only rank 0 writes the files.
/// </summary>
public sealed class CachedReference : IReferenceStrategy
{
    private readonly CausalLM model;
    private readonly bool ownsModel;
    private readonly Func<IDisposable>? referenceMode;
    private readonly string file;
    private readonly Dictionary<UInt128, double> values = [];
    private readonly string tokenFile;
    private Dictionary<UInt128, float[]>? tokens;
    private bool dirty, tokensDirty;
    private ICollectives comm = SingleProcess.Instance;

    /// <summary>Opens (or starts) the cache for <paramref name="model"/> under <paramref name="cacheRoot"/>; takes ownership of the model.</summary>
    public CachedReference(CausalLM model, string cacheRoot) : this(model, cacheRoot, owns: true, referenceMode: null)
    {
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// <summary>
    /// Caches what <paramref name="model"/> computes inside <paramref name="referenceMode"/> (an adapter run's policy
    /// with its adapter disabled, so no second copy exists). The model is not owned and its parameters are not touched;
    /// the weights hash is the base's (adapters are not parameters of the model), so the cache is shared with full
    /// fine-tuning runs of the same base.
    /// </summary>
    public CachedReference(CausalLM model, string cacheRoot, Func<IDisposable> referenceMode)
        : this(model, cacheRoot, owns: false, referenceMode) { }

    private CachedReference(CausalLM model, string cacheRoot, bool owns, Func<IDisposable>? referenceMode)
    {
        this.model = model;
        ownsModel = owns;
        this.referenceMode = referenceMode;
        Directory.CreateDirectory(cacheRoot);
        string hash = WeightsHash(model);
        file = Path.Combine(cacheRoot, $"reflogps-{hash}.bin");
        tokenFile = Path.Combine(cacheRoot, $"reftokens-{hash}.bin");
        if (File.Exists(file)) Load();
        LoadedRows = values.Count;
    }

    /// <inheritdoc />
    public string Name => "precomputed-cache";

    /// <summary>The cache file.</summary>
    public string CacheFile => file;

    /// <summary>Rows found on disk when opened.</summary>
    public int LoadedRows { get; }

    /// <summary>Reference forwards run (batches with at least one row missing).</summary>
    public int Forwards { get; private set; }

    /// <summary>Batches served entirely from the cache.</summary>
    public int Hits { get; private set; }

    /// <summary>Per-token values file (written only when per-token values were asked for).</summary>
    public string TokenFile => tokenFile;

    /// <summary>Computes every missing row of <paramref name="pairs"/> once (in batches of <paramref name="batchSize"/>), then saves the cache.</summary>
    public void Precompute(IReadOnlyList<TokenizedPair> pairs, int batchSize, int padId, bool perToken = false) =>
        Precompute(new PairExamples(pairs), batchSize, padId, perToken);

    /// <summary>
    /// Computes every missing row of <paramref name="examples"/> (either batch kind) once, in batches of
    /// <paramref name="batchSize"/>, with per-token values too when <paramref name="perToken"/>, on the reference's
    /// device (where the run placed it); then saves.
    /// </summary>
    public void Precompute(IExampleSet examples, int batchSize, int padId, bool perToken = false)
    {
        var device = model.parameters().First().device;
        foreach (var chunk in Enumerable.Range(0, examples.Count).Chunk(Math.Max(1, batchSize)))
        {
            using var b = examples.Collate(chunk, padId);
            if (!Missing(Keys(b), perToken)) continue;
            Fill(b, device, perToken);
        }
        Save();
    }

    /// <inheritdoc />
    public Tensor? LogProbs(PreferenceBatch batch, Device device)
    {
        var keys = Keys(batch);
        if (!Missing(keys, perToken: false)) Hits++;
        else Fill(batch, device, perToken: false);
        return tensor(keys.Select(k => values[k]).ToArray()).to(ScalarType.Float32).to(device);
    }

    /// <inheritdoc />
    public Tensor? TokenLogProbs(PreferenceBatch batch, Device device)
    {
        var keys = Keys(batch);
        if (!Missing(keys, perToken: true)) Hits++;
        else Fill(batch, device, perToken: true);
        int width = keys.Max(k => tokens![k].Length);
        var flat = new float[keys.Count * width];
        for (int r = 0; r < keys.Count; r++) tokens![keys[r]].CopyTo(flat, r * width);
        return tensor(flat, [keys.Count, width]).to(device); // (R, Tc), zeros after each completion
    }

    /// <inheritdoc />
    public void Distribute(ICollectives comm) => this.comm = comm;

    /// <summary>Writes new rows to disk atomically (rank 0 of a data-parallel job; the other ranks hold the same rows).</summary>
    public void Save()
    {
        if (comm.Rank != 0) (dirty, tokensDirty) = (false, false);
        if (dirty)
        {
            AtomicFile.WriteStream(file, stream =>
            {
                using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                w.Write(values.Count);
                foreach (var (k, v) in values) { w.Write((ulong)(k >> 64)); w.Write((ulong)k); w.Write(v); }
            });
            dirty = false;
        }
        if (tokensDirty && tokens is not null)
        {
            AtomicFile.WriteStream(tokenFile, stream =>
            {
                using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                w.Write(tokens.Count);
                foreach (var (k, v) in tokens)
                {
                    w.Write((ulong)(k >> 64)); w.Write((ulong)k); w.Write(v.Length);
                    foreach (var x in v) w.Write(x);
                }
            });
            tokensDirty = false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Save();
        if (ownsModel) model.Dispose();
    }

    /// <summary>
    /// True when a row of <paramref name="keys"/> lacks its values on any rank: ranks enter <see cref="Fill"/>'s
    /// collectives together even if they opened the cache file at different moments.
    /// </summary>
    private bool Missing(List<UInt128> keys, bool perToken) => comm.AnyRank(!Has(keys, perToken));

    /// <summary>True when every row has its sum (and its per-token values when <paramref name="perToken"/>).</summary>
    private bool Has(List<UInt128> keys, bool perToken)
    {
        if (!keys.All(values.ContainsKey)) return false;
        if (!perToken) return true;
        tokens ??= LoadTokens();
        return keys.All(tokens.ContainsKey);
    }

    private void Fill(PreferenceBatch batch, Device device, bool perToken)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var mode = referenceMode?.Invoke();
        Forwards++;
        var previous = model.DataParallel;
        model.DataParallel = comm.Size > 1 ? comm : null; // each rank computes its share of the rows
        RowLogProbs rows;
        try
        {
            rows = BatchLogProbs.Of(model, batch, device, perToken);
        }
        finally
        {
            model.DataParallel = previous;
        }
        var sums = rows.Sums.to(ScalarType.Float64).cpu().data<double>().ToArray();
        var keys = Keys(batch);
        for (int i = 0; i < keys.Count; i++) values[keys[i]] = sums[i];
        dirty = true;
        if (!perToken) return;
        tokens ??= LoadTokens();
        var perRow = rows.Tokens!.to(ScalarType.Float32).cpu(); // (R, Tc)
        var counts = rows.Counts.to(ScalarType.Int64).cpu().data<long>().ToArray();
        for (int i = 0; i < keys.Count; i++) tokens[keys[i]] = perRow[i].narrow(0, 0, counts[i]).data<float>().ToArray();
        tokensDirty = true;
    }

    private Dictionary<UInt128, float[]> LoadTokens()
    {
        var result = new Dictionary<UInt128, float[]>();
        if (!File.Exists(tokenFile)) return result;
        using var r = new BinaryReader(File.OpenRead(tokenFile));
        int n = r.ReadInt32();
        for (int i = 0; i < n; i++)
        {
            var k = new UInt128(r.ReadUInt64(), r.ReadUInt64());
            var v = new float[r.ReadInt32()];
            for (int j = 0; j < v.Length; j++) v[j] = r.ReadSingle();
            result[k] = v;
        }
        return result;
    }

    private void Load()
    {
        using var r = new BinaryReader(File.OpenRead(file));
        int n = r.ReadInt32();
        for (int i = 0; i < n; i++)
        {
            var k = new UInt128(r.ReadUInt64(), r.ReadUInt64());
            values[k] = r.ReadDouble();
        }
    }

    /// <summary>Row keys in batch order (pairs: chosen rows then rejected rows).</summary>
    private static List<UInt128> Keys(PreferenceBatch b) => [.. b.Rows.Select(r => RowKey(r.Prompt, r.Completion))];

    private static UInt128 RowKey(int[] prompt, int[] completion)
    {
        var bytes = new byte[(prompt.Length + completion.Length + 1) * 4];
        Buffer.BlockCopy(prompt, 0, bytes, 0, prompt.Length * 4);
        BitConverter.TryWriteBytes(bytes.AsSpan(prompt.Length * 4), -1); // separator: prompt | completion
        Buffer.BlockCopy(completion, 0, bytes, (prompt.Length + 1) * 4, completion.Length * 4);
        var h = SHA256.HashData(bytes);
        return new UInt128(BitConverter.ToUInt64(h, 0), BitConverter.ToUInt64(h, 8));
    }

    private static string WeightsHash(CausalLM model)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, p) in model.named_parameters().OrderBy(x => x.name, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var f = p.detach().to(ScalarType.Float32).cpu().contiguous();
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.data<float>().ToArray().AsSpan()));
        }
        // Log-probs computed with bfloat16 matmuls differ from float32 ones (docs/benchmarks.md, "bfloat16"): their own
        // cache. Float32 keeps the key it always had, so existing caches stay valid.
        if (model.MatmulDType is { } d) sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"matmul:{d}"));
        if (model.HeadMatmulDType is { } hd) sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"head:{hd}"));
        return Convert.ToHexString(sha.GetHashAndReset())[..24].ToLowerInvariant();
    }
}
