using AlignSharp.Checkpoints;

namespace AlignSharp.Adapters;

/// <summary>Folds an adapter into its base and writes a plain Hugging Face folder (no adapter needed to load it).</summary>
public static class AdapterMerge
{
    /// <summary>
    /// Loads <paramref name="baseDir"/>, applies the adapter in <paramref name="adapterDir"/>, merges it
    /// (W += s·B·A) and saves the result to <paramref name="outDir"/> with the base's tokenizer files and config keys,
    /// in the base's storage dtype (written into a temporary folder and renamed into place).
    /// </summary>
    public static void Merge(string baseDir, string adapterDir, string outDir)
    {
        var loaded = HfCheckpoint.Load(baseDir);
        using var model = loaded.Model;
        var adapter = PeftAdapterFolder.Load(model, adapterDir);
        adapter.MergeIntoBase();
        HfCheckpoint.Save(model, outDir, new HfSaveOptions { SourceDir = baseDir, DType = StoredDType(baseDir) });
    }

    /// <summary>The base folder's tensor storage dtype (a BF16 base stays BF16 after merging), or null for float32.</summary>
    private static TorchSharp.torch.ScalarType? StoredDType(string baseDir)
    {
        string single = Path.Combine(baseDir, HfCheckpoint.WeightsFile);
        if (!File.Exists(single)) return null;
        using var f = SafetensorsFile.Open(single);
        var first = f.Tensors.Values.FirstOrDefault();
        return first?.DType switch
        {
            "BF16" => TorchSharp.torch.ScalarType.BFloat16,
            "F16" => TorchSharp.torch.ScalarType.Float16,
            _ => null,
        };
    }
}
