using System.Text;
using AlignSharp.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace AlignSharp.Tests.Checkpoints;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("alignsharp-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    /// <summary>Writes a raw safetensors file: u64 header length, the header text, then <paramref name="dataBytes"/> zero bytes.</summary>
    private string Raw(string header, int dataBytes, string name = "raw.safetensors")
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)h.Length);
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(PathOf(name), bytes);
        return PathOf(name);
    }

    private static CheckpointException OpenFails(string path) => Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());

    [Fact]
    public void Write_then_read_round_trips_every_dtype_bit_exactly()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["z.f32"] = torch.randn(3, 5),
            ["a.bf16"] = torch.randn(4, 2).to(ScalarType.BFloat16),
            ["m.f16"] = torch.randn(7).to(ScalarType.Float16),
            ["i64"] = torch.arange(6L).reshape(2, 3),
            ["f64"] = torch.randn(2, 2, 2, dtype: ScalarType.Float64),
            ["bool"] = torch.tensor(new[] { true, false, true }),
            ["scalar"] = torch.tensor(3.5f),
            ["empty"] = torch.zeros(0, 4),
        };
        string path = PathOf("all.safetensors");
        SafetensorsFile.Write(path, tensors);
        var back = SafetensorsFile.ReadAll(path, upcastHalfToFloat32: false);
        Assert.Equal(tensors.Keys.Order(), back.Keys.Order());
        foreach (var (k, t) in tensors)
        {
            TensorAssert.BitEqual(t, back[k], k);
        }
    }

    [Fact]
    public void Written_header_has_pt_metadata_sorted_names_and_space_padding_to_8_bytes()
    {
        string path = PathOf("h.safetensors");
        SafetensorsFile.Write(path, new Dictionary<string, Tensor> { ["b"] = torch.ones(3), ["a"] = torch.ones(1, 2) });
        var bytes = File.ReadAllBytes(path);
        long n = (long)BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"}", header);
        Assert.True(header.IndexOf("\"a\"", StringComparison.Ordinal) < header.IndexOf("\"b\"", StringComparison.Ordinal));
        Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd().Length);
        Assert.Equal(8 + n + 4 * (3 + 2), bytes.Length); // tightly packed data
        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(0, f.Tensors["a"].Begin); // sorted names, data in the same order
        Assert.Equal(8, f.Tensors["b"].Begin);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
    }

    [Fact]
    public void Bf16_upcasts_to_f32_exactly_as_the_high_half_of_the_bits()
    {
        ushort[] raw = [0x3F80, 0xC049, 0x0001, 0x7F7F, 0x8000, 0x4110];
        var data = raw.SelectMany(BitConverter.GetBytes).ToArray();
        string header = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[6],\"data_offsets\":[0,12]}}";
        string path = Raw(header, 0);
        File.AppendAllText(path, ""); // keep header as written, append data below
        using (var fs = new FileStream(path, FileMode.Append)) fs.Write(data);
        using var f = SafetensorsFile.Open(path);
        using var t = f.Read("w");
        Assert.Equal(ScalarType.Float32, t.dtype);
        var got = t.data<float>().ToArray();
        for (int i = 0; i < raw.Length; i++) Assert.Equal(BitConverter.Int32BitsToSingle(raw[i] << 16), got[i]);
    }

    [Fact]
    public void Truncated_file_is_an_error_naming_the_tensor()
    {
        string path = PathOf("t.safetensors");
        SafetensorsFile.Write(path, new Dictionary<string, Tensor> { ["layer.weight"] = torch.ones(16, 16) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        var e = OpenFails(path);
        Assert.Contains("layer.weight", e.Message);
        Assert.Contains("past the end", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void File_shorter_than_the_length_prefix_is_an_error()
    {
        File.WriteAllBytes(PathOf("s.safetensors"), [1, 2, 3]);
        Assert.Contains("truncated", OpenFails(PathOf("s.safetensors")).Message);
    }

    [Fact]
    public void Header_length_beyond_the_file_is_an_error()
    {
        var bytes = new byte[64];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)1_000_000);
        File.WriteAllBytes(PathOf("h.safetensors"), bytes);
        Assert.Contains("exceeds the file size", OpenFails(PathOf("h.safetensors")).Message);
    }

    [Fact]
    public void Offsets_past_the_end_are_an_error()
    {
        var e = OpenFails(Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 16));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void Unknown_dtype_is_an_error_naming_it()
    {
        var e = OpenFails(Raw("{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16));
        Assert.Contains("'Q4_K'", e.Message);
        Assert.Contains("'w'", e.Message);
    }

    [Fact]
    public void Span_not_matching_shape_and_dtype_is_an_error()
    {
        var e = OpenFails(Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16));
        Assert.Contains("needs 24", e.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_an_error()
    {
        var e = OpenFails(Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16));
        Assert.Contains("overlap", e.Message);
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'b'", e.Message);
    }

    [Fact]
    public void Malformed_json_and_duplicate_names_are_errors()
    {
        Assert.Contains("not valid JSON", OpenFails(Raw("{\"w\":{\"dtype\":", 0)).Message);
        var dup = Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "dup.safetensors");
        Assert.Contains("twice", OpenFails(dup).Message);
    }
}
