using static TorchSharp.torch;

namespace AlignSharp.Objectives;

/// <summary>
/// The extra inputs of one batch: values by their typed request (what the trainer fills), and named arrays as
/// golden-vector files and tests write them (<see cref="Keyed"/>), from which a request builds its value when no
/// typed value was given. Immutable; <see cref="With{TValue}"/> returns a copy.
/// </summary>
public sealed class ObjectiveInputs
{
    private readonly Dictionary<InputRequest, object> values;

    private ObjectiveInputs(Dictionary<InputRequest, object> values, IReadOnlyDictionary<string, Tensor> keyed)
    {
        this.values = values;
        Keyed = keyed;
    }

    /// <summary>No inputs.</summary>
    public static ObjectiveInputs Empty { get; } = new([], new Dictionary<string, Tensor>());

    /// <summary>Inputs given as named arrays (golden-vector keys, or dataset column names for columns).</summary>
    public static ObjectiveInputs FromKeys(IReadOnlyDictionary<string, Tensor> keyed) => new([], keyed);

    /// <summary>Named arrays, as vector files and tests give them; empty when the trainer filled the inputs.</summary>
    public IReadOnlyDictionary<string, Tensor> Keyed { get; }

    /// <summary>Requests with a typed value.</summary>
    public IEnumerable<InputRequest> Provided => values.Keys;

    /// <summary>A copy with <paramref name="value"/> as the answer to <paramref name="request"/>.</summary>
    public ObjectiveInputs With<TValue>(InputRequest<TValue> request, TValue value) where TValue : class =>
        new(new Dictionary<InputRequest, object>(values) { [request] = value }, Keyed);

    /// <summary>A copy whose named arrays are <paramref name="keyed"/> (typed values kept).</summary>
    public ObjectiveInputs WithKeyed(IReadOnlyDictionary<string, Tensor> keyed) => new(values, keyed);

    /// <summary>The value of <paramref name="request"/>, or null when it has neither a value nor keys.</summary>
    public TValue? Find<TValue>(InputRequest<TValue> request) where TValue : class =>
        values.TryGetValue(request, out var v) ? (TValue)v : (TValue?)request.FromKeys(Keyed, out _);

    /// <summary>The value of <paramref name="request"/>, or an error naming the objective and missing key.</summary>
    public TValue Get<TValue>(InputRequest<TValue> request, string objective) where TValue : class
    {
        if (values.TryGetValue(request, out var v)) return (TValue)v;
        if (request.FromKeys(Keyed, out string missing) is TValue fromKeys) return fromKeys;
        string column = request is DatasetColumn d ? $" (dataset column '{d.Column}')" : "";
        throw new ObjectiveException($"objective '{objective}' needs the per-pair input '{missing}'{column}");
    }
}
