using AlignSharp.Tests.Models;
using System.Text;
using System.Text.Json.Nodes;
using AlignSharp.Checkpoints;
using AlignSharp.Data;
using AlignSharp.Data.Validation;
using AlignSharp.Tokenization;
using AlignSharp.Tokenization.ChatTemplates;
using CsCheck;
using TorchSharp;

namespace AlignSharp.Tests.Reliability;

/// <summary>
/// Property-based hostile files (CsCheck): valid safetensors files, config.json, tokenizer.json, chat templates and
/// JSONL records are truncated, byte-flipped, given huge lengths, deep nesting and wrong types, and every loader
/// must either load the file or reject it with an <see cref="AlignSharpException"/>: never another exception, a
/// hang, or a managed allocation out of proportion to the file (a claimed length is never trusted).
/// A failure is shrunk by CsCheck to a small case and reported with the seed that reproduces it.
/// </summary>
public sealed class HostileFileTests
{
    private const int Iterations = 150;

    /// <summary>Managed bytes a loader may allocate per byte of file, plus a constant: parsing costs a few times the text.</summary>
    private const long AllocationPerByte = 64, AllocationSlack = 8 << 20;

    private static readonly string[] HostileSnippets =
    [
        new string('[', 5000) + new string(']', 5000),
        new string('{', 3000),
        "{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 201),
        "1152921504606846976", "-1", "1e400", "null", "true", "\"\"", "[]", "{}", "\"\\ud800\"", "\u0000",
        "\"" + new string('x', 50_000) + "\"",
        "{{ {% {# }} %} #}", "{% for x in %}", "{% if %}{% endif %}{% endfor %}", "{{ messages[99999999999] }}",
        "\uFFFF\uD800", "\r\n\r\n",
    ];

    /// <summary>A byte-level mutation of <paramref name="valid"/>: truncation, flips, a deletion or an inserted hostile snippet.</summary>
    internal static Gen<byte[]> Mutations(byte[] valid) =>
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, int.MaxValue], Gen.Int[1, 64], Gen.Byte, Gen.Int[0, HostileSnippets.Length - 1],
            (kind, at, n, value, snippet) =>
            {
                int pos = valid.Length == 0 ? 0 : at % valid.Length;
                var b = valid.ToList();
                switch (kind)
                {
                    case 0: return valid[..pos]; // truncated
                    case 1: // n flipped bytes spread from pos
                        for (int i = 0; i < n; i++) b[(pos + i * 7919) % b.Count] ^= (byte)(value | 1);
                        return [.. b];
                    case 2: b.RemoveRange(pos, Math.Min(n, b.Count - pos)); return [.. b]; // a deleted range
                    case 3: b.InsertRange(pos, Encoding.UTF8.GetBytes(HostileSnippets[snippet])); return [.. b];
                    default: b[pos] = value; return [.. b]; // one byte replaced
                }
            });

    /// <summary>A JSON-level mutation: a value somewhere in the document replaced by one of the wrong type or size.</summary>
    internal static Gen<byte[]> JsonValueMutations(string validJson) =>
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, 9], (slot, kind) =>
        {
            var root = JsonNode.Parse(validJson)!;
            var slots = new List<(JsonNode Parent, object Key)>();
            void Walk(JsonNode? n)
            {
                switch (n)
                {
                    case JsonObject o: foreach (var (k, v) in o.ToList()) { slots.Add((o, k)); Walk(v); } break;
                    case JsonArray a: for (int i = 0; i < a.Count; i++) { slots.Add((a, i)); Walk(a[i]); } break;
                }
            }
            Walk(root);
            if (slots.Count == 0) return Encoding.UTF8.GetBytes(validJson);
            var (parent, key) = slots[slot % slots.Count];
            JsonNode? replacement = kind switch
            {
                0 => null,
                1 => JsonValue.Create(-1),
                2 => JsonValue.Create(1L << 60),
                3 => JsonValue.Create(1e300),
                4 => JsonValue.Create("not a number"),
                5 => new JsonArray(1, 2, 3),
                6 => new JsonObject { ["x"] = 1 },
                7 => JsonValue.Create(true),
                8 => JsonValue.Create(new string('z', 10_000)),
                _ => JsonValue.Create(0.5),
            };
            if (parent is JsonObject po) po[(string)key] = replacement;
            else ((JsonArray)parent)[(int)key] = replacement;
            return Encoding.UTF8.GetBytes(root.ToJsonString());
        });

    /// <summary>
    /// Writes each sample to a file and runs <paramref name="load"/> on it: it must return or throw an
    /// <see cref="AlignSharpException"/>, allocating at most a fixed multiple of the file size. Runs on one thread
    /// (allocations are counted per thread) under a watchdog that reports a hang.
    /// </summary>
    private static void Check(string what, Gen<byte[]> files, string fileName, Action<string> load)
    {
        string dir = TestTemp.Dir("hostile");
        string path = Path.Combine(dir, fileName);
        int rejected = 0, loaded = 0;
        var run = Task.Factory.StartNew(() => files.Sample(bytes =>
        {
            File.WriteAllBytes(path, bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                load(path);
                loaded++;
            }
            catch (AlignSharpException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{what}: {e.GetType().Name} instead of an AlignSharpException " +
                    $"for a {bytes.Length}-byte file: {e.Message}\n{e.StackTrace}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated <= AllocationPerByte * bytes.Length + AllocationSlack,
                $"{what}: allocated {allocated} bytes for a {bytes.Length}-byte file");
        }, iter: Iterations, threads: 1), TaskCreationOptions.LongRunning);
        Assert.True(run.Wait(TimeSpan.FromMinutes(3)), $"{what}: no answer in three minutes (a hang?)");
        Assert.True(rejected > 0, $"{what}: no mutation was rejected ({loaded} loaded): the mutations test nothing");
    }

    private static byte[] ValidSafetensors()
    {
        string path = TestTemp.File("valid.safetensors");
        using (var a = torch.arange(12, dtype: torch.ScalarType.Float32).reshape(3, 4))
        using (var b = torch.ones(5, dtype: torch.ScalarType.BFloat16))
        using (var c = torch.zeros(0, 2, dtype: torch.ScalarType.Int64))
            SafetensorsFile.Write(path, new Dictionary<string, torch.Tensor> { ["a"] = a, ["b.weight"] = b, ["c"] = c });
        return File.ReadAllBytes(path);
    }

    private static void LoadSafetensors(string path)
    {
        long size = new FileInfo(path).Length;
        var tensors = SafetensorsFile.ReadAll(path, upcastHalfToFloat32: false);
        long bytes = tensors.Values.Sum(t => t.NumberOfElements * t.ElementSize);
        foreach (var t in tensors.Values) t.Dispose();
        Assert.True(bytes <= size, $"tensors of {bytes} bytes read from a {size}-byte file");
    }

    [Fact]
    public void Mutated_safetensors_files_load_or_are_rejected()
    {
        var valid = ValidSafetensors();
        LoadSafetensors(WriteTemp("ok.safetensors", valid));
        // Header-length field: random 64-bit claims, including lengths far past the file.
        var lengthClaims = Gen.ULong.Select(n =>
        {
            var b = (byte[])valid.Clone();
            BitConverter.TryWriteBytes(b.AsSpan(0, 8), n);
            return b;
        });
        var headerValues = JsonValueMutations(HeaderJson(valid)).Select(h => WithHeader(valid, System.Text.Encoding.UTF8.GetString(h)));
        Check("safetensors", Gen.OneOf(Mutations(valid), lengthClaims, headerValues), "model.safetensors", LoadSafetensors);
    }

    [Theory]
    [InlineData(1UL << 60)]
    [InlineData(ulong.MaxValue)]
    [InlineData((ulong)SafetensorsFile.MaxHeaderBytes + 1)]
    public void A_safetensors_header_claiming_huge_lengths_is_rejected_before_any_allocation(ulong claim)
    {
        // 8 bytes claiming the header length, then a few bytes: nothing may be allocated for the claim.
        var bytes = new byte[64];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), claim);
        string path = WriteTemp("huge.safetensors", bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("exceeds", e.Message);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes before rejecting");
    }

    [Fact]
    public void A_tensor_claiming_2_to_the_60_bytes_is_rejected_before_any_allocation()
    {
        // A well-formed header whose one tensor claims 2^60 bytes of data (shape 2^58 F32) in a tiny file.
        string header = """{"t":{"dtype":"F32","shape":[288230376151711744],"data_offsets":[0,1152921504606846976]}}""";
        string path = WriteTemp("claim.safetensors", WithHeader(new byte[16], header));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.ReadAll(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void Mutated_config_json_loads_or_is_rejected()
    {
        string valid = File.ReadAllText(Path.Combine(FixtureModels.Gpt2.Dir, "config.json"));
        Check("config.json", Gen.OneOf(Mutations(Encoding.UTF8.GetBytes(valid)), JsonValueMutations(valid)), "config.json",
            p => HfConfig.Read(p));
    }

    /// <summary>A small byte-level BPE tokenizer.json using the common optional sections.</summary>
    private const string TinyTokenizer = """
        {"version": "1.0",
         "added_tokens": [{"id": 6, "content": "<|end|>", "single_word": false, "lstrip": false, "rstrip": false,
                           "normalized": false, "special": true}],
         "normalizer": {"type": "NFC"},
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
         "post_processor": null,
         "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
         "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                   "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                   "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "Ġa": 5, "<|end|>": 6},
                   "merges": ["a b", "Ġ a"]}}
        """;

    [Fact]
    public void Mutated_tokenizer_json_loads_or_is_rejected()
    {
        var check = HfTokenizer.FromFile(WriteTemp("tokenizer.json", Encoding.UTF8.GetBytes(TinyTokenizer)));
        Assert.NotEmpty(check.Encode("ab a"));
        Check("tokenizer.json", Gen.OneOf(Mutations(Encoding.UTF8.GetBytes(TinyTokenizer)), JsonValueMutations(TinyTokenizer)),
            "tokenizer.json", p =>
            {
                var tok = HfTokenizer.FromFile(p);
                var ids = tok.Encode("ab a<|end|> c");
                tok.Decode(ids);
            });
    }

    [Fact]
    public void Mutated_chat_templates_parse_and_render_or_are_rejected()
    {
        var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(TestSetup.Shared, "golden", "templates", "cases.json")))!;
        var templates = cases["templates"]!.AsArray().Select(t => Encoding.UTF8.GetBytes((string)t!["template"]!)).ToArray();
        var input = new ChatTemplateInput(new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "Be brief." },
            new JsonObject { ["role"] = "user", ["content"] = "Hi" },
            new JsonObject { ["role"] = "assistant", ["content"] = "Hello." },
            new JsonObject { ["role"] = "user", ["content"] = "Bye" })) { AddGenerationPrompt = true };
        var gen = Gen.Int[0, templates.Length - 1].SelectMany(i => Mutations(templates[i]));
        Check("chat template", gen, "template.jinja", p =>
        {
            var template = ChatTemplate.Parse(File.ReadAllText(p), new JsonObject { ["bos_token"] = "<s>", ["eos_token"] = "</s>" });
            template.Render(input);
        });
    }

    [Fact]
    public void Mutated_jsonl_records_are_used_or_each_reported()
    {
        var rng = new Random(5);
        string Text(int n) => new(Enumerable.Range(0, n).Select(_ => (char)('a' + rng.Next(26))).ToArray());
        string valid = string.Concat(Enumerable.Range(0, 12).Select(i => new JsonObject
        {
            ["prompt"] = Text(8), ["chosen"] = Text(5), ["rejected"] = Text(6),
        }.ToJsonString() + "\n"));
        var lineValues = Gen.Int[0, 11].SelectMany(line => JsonValueMutations(valid.Split('\n')[line]).Select(bad =>
        {
            var lines = valid.Split('\n');
            lines[line] = Encoding.UTF8.GetString(bad);
            return Encoding.UTF8.GetBytes(string.Join('\n', lines));
        }));
        Check("jsonl", Gen.OneOf(Mutations(Encoding.UTF8.GetBytes(valid)), lineValues), "pairs.jsonl", p =>
        {
            // Skip policy: the load succeeds and every line read is either used or reported with its reason.
            var data = PreferenceDataLoader.Load(p, new DataOptions());
            var r = data.Report;
            Assert.Equal(r.RecordsRead, r.RecordsUsed + r.RecordsReported);
            Assert.Equal(r.RecordsUsed, data.Pairs.Count + data.Unpaired.Count);
            // Fail policy: the first bad record is an error naming it.
            PreferenceDataLoader.Load(p, new DataOptions { OnBadRecord = BadRecordPolicy.Fail });
        });
    }

    // Regressions for what the properties found: each was an unhandled exception or a crash before the fix.
    [Fact]
    public void Deep_nesting_and_bad_escapes_in_templates_are_template_errors()
    {
        // Deep nesting overflowed the stack (killing the process); an escape past U+10FFFF threw ArgumentOutOfRange.
        string deep = "{{ " + new string('[', 5000) + new string(']', 5000) + " }}";
        Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(deep));
        Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(string.Concat(Enumerable.Repeat("{% if x %}", 5000))));
        Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{{ \"\\U7FFFFFFF\" }}"));
        Assert.Equal("\ud800", ChatTemplate.Parse("{{ \"\\ud800\" }}").Render(new ChatTemplateInput([]))); // as Python
    }

    [Fact]
    public void A_record_with_a_duplicate_key_is_reported_not_thrown()
    {
        string path = WriteTemp("dup.jsonl", Encoding.UTF8.GetBytes(
            "{\"prompt\": \"p\", \"chosen\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n" +
            "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"c\"}\n"));
        var data = PreferenceDataLoader.Load(path);
        Assert.Single(data.Pairs);
        var issue = Assert.Single(data.Report.Examples[RecordIssue.InvalidJson]);
        Assert.Equal(1, issue.Where.Line);
        Assert.Contains("'chosen' appears twice", issue.Detail);
    }

    [Fact]
    public void Safetensors_offsets_of_the_wrong_type_and_non_utf8_names_are_checkpoint_errors()
    {
        string objects = """{"t":{"dtype":"F32","shape":[1],"data_offsets":[{},4]}}""";
        Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(WriteTemp("o.safetensors", WithHeader(new byte[12], objects))));
        var header = Encoding.UTF8.GetBytes("""{"tX":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""");
        header[3] = 0xFF; // the name's X becomes invalid UTF-8
        var file = new byte[8 + header.Length + 4];
        BitConverter.TryWriteBytes(file.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(file, 8);
        Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(WriteTemp("u.safetensors", file)));
    }

    private static string WriteTemp(string name, byte[] bytes)
    {
        string path = TestTemp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string HeaderJson(byte[] file) => Encoding.UTF8.GetString(file, 8, (int)BitConverter.ToUInt64(file, 0));

    private static byte[] WithHeader(byte[] file, string header)
    {
        var data = file.Length >= 8 && BitConverter.ToUInt64(file, 0) is var n && (long)n <= file.Length - 8
            ? file[(8 + (int)n)..] : file;
        var h = Encoding.UTF8.GetBytes(header);
        var result = new byte[8 + h.Length + data.Length];
        BitConverter.TryWriteBytes(result.AsSpan(0, 8), (ulong)h.Length);
        h.CopyTo(result, 8);
        data.CopyTo(result, 8 + h.Length);
        return result;
    }
}
