using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AlignSharp.Distributed;

/// <summary>Which application binary interface the loaded MPI library has.</summary>
internal enum MpiAbi
{
    /// <summary>Open MPI: handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are addresses of exported objects.</summary>
    OpenMpi,
    /// <summary>MPICH and its derivatives (Intel MPI, MVAPICH): handles are fixed 32-bit integers.</summary>
    Mpich,
}

/// <summary>
/// The few MPI C functions data parallelism needs, resolved at run time from the system's MPI library
/// (<c>libmpi.so.40</c> from Open MPI, or MPICH's <c>libmpi.so.12</c>), so nothing links against MPI and a single
/// process never loads it. Handles are kept as <see cref="nint"/>: Open MPI's are addresses of exported objects
/// (<c>ompi_mpi_comm_world</c>, ...) found with <see cref="NativeLibrary.GetExport"/>; MPICH's are integer
/// constants from its <c>mpi.h</c>, passed in the low 32 bits of the same argument register (x86-64 and arm64
/// calling conventions read an <c>int</c> argument from there).
/// </summary>
internal sealed unsafe partial class MpiLibrary
{
    /// <summary>MPI_SUCCESS.</summary>
    public const int Success = 0;

    /// <summary>Environment variable naming the MPI library to load (a file path or a soname).</summary>
    public const string LibraryVariable = "ALIGNSHARP_MPI_LIBRARY";

    private static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so"];

    private const int RtldNow = 0x2, RtldGlobal = 0x100;

    private MpiLibrary(nint handle, string name)
    {
        Name = name;
        Abi = NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _) ? MpiAbi.OpenMpi : MpiAbi.Mpich;
        nint F(string symbol) => NativeLibrary.TryGetExport(handle, symbol, out var f) ? f
            : throw new DistributedException($"{name} has no function {symbol}: not an MPI library");
        Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        Init = (delegate* unmanaged<int*, byte***, int>)F("MPI_Init");
        Finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)F("MPI_Allreduce");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)F("MPI_Bcast");
        Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)F("MPI_Allgather");
        Allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)F("MPI_Allgatherv");
        Barrier = (delegate* unmanaged<nint, int>)F("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)F("MPI_Abort");
        OpCreate = (delegate* unmanaged<void*, int, nint*, int>)F("MPI_Op_create");
        OpFree = (delegate* unmanaged<nint*, int>)F("MPI_Op_free");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)F("MPI_Get_library_version");
        if (Abi == MpiAbi.OpenMpi)
        {
            CommWorld = F("ompi_mpi_comm_world");
            Byte = F("ompi_mpi_byte");
            Float = F("ompi_mpi_float");
            Double = F("ompi_mpi_double");
            UInt16 = F("ompi_mpi_uint16_t");
            Int64 = F("ompi_mpi_int64_t");
            Sum = F("ompi_mpi_op_sum");
            InPlace = 1; // ((void *) 1)
        }
        else
        {
            // MPICH mpi.h: MPI_COMM_WORLD 0x44000000, MPI_BYTE 0x4c00010d, MPI_FLOAT 0x4c00040a,
            // MPI_DOUBLE 0x4c00080b, MPI_UINT16_T 0x4c00023c, MPI_INT64_T 0x4c00083a, MPI_SUM 0x58000003.
            CommWorld = 0x44000000;
            Byte = 0x4c00010d;
            Float = 0x4c00040a;
            Double = 0x4c00080b;
            UInt16 = 0x4c00023c;
            Int64 = 0x4c00083a;
            Sum = 0x58000003;
            InPlace = -1; // ((void *) -1)
        }
    }

    /// <summary>The file or soname loaded.</summary>
    public string Name { get; }

    /// <summary>Open MPI or MPICH handles.</summary>
    public MpiAbi Abi { get; }

    public delegate* unmanaged<int*, int> Initialized { get; }
    public delegate* unmanaged<int*, int> Finalized { get; }
    public delegate* unmanaged<int*, byte***, int> Init { get; }
    public delegate* unmanaged<int> Finalize { get; }
    public delegate* unmanaged<nint, int*, int> CommRank { get; }
    public delegate* unmanaged<nint, int*, int> CommSize { get; }
    public delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce { get; }
    public delegate* unmanaged<void*, int, nint, int, nint, int> Bcast { get; }
    public delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather { get; }
    public delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> Allgatherv { get; }
    public delegate* unmanaged<nint, int> Barrier { get; }
    public delegate* unmanaged<nint, int, int> Abort { get; }
    public delegate* unmanaged<void*, int, nint*, int> OpCreate { get; }
    public delegate* unmanaged<nint*, int> OpFree { get; }
    public delegate* unmanaged<int, byte*, int*, int> ErrorString { get; }
    public delegate* unmanaged<byte*, int*, int> GetLibraryVersion { get; }

    /// <summary>MPI_COMM_WORLD.</summary>
    public nint CommWorld { get; }

    /// <summary>MPI_BYTE.</summary>
    public nint Byte { get; }

    /// <summary>MPI_FLOAT.</summary>
    public nint Float { get; }

    /// <summary>MPI_DOUBLE.</summary>
    public nint Double { get; }

    /// <summary>MPI_UINT16_T (the carrier of bfloat16 values for the bfloat16 sum operation).</summary>
    public nint UInt16 { get; }

    /// <summary>MPI_INT64_T.</summary>
    public nint Int64 { get; }

    /// <summary>MPI_SUM.</summary>
    public nint Sum { get; }

    /// <summary>MPI_IN_PLACE.</summary>
    public nint InPlace { get; }

    /// <summary>
    /// Loads the MPI library named by <see cref="LibraryVariable"/>, else the first of libmpi.so.40 (Open MPI),
    /// libmpi.so.12 / libmpich.so.12 (MPICH) that the dynamic loader finds. It is opened with RTLD_GLOBAL because
    /// Open MPI's plug-ins, loaded later by the library itself, resolve their symbols against it.
    /// </summary>
    public static MpiLibrary Load()
    {
        var names = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } chosen ? [chosen] : Candidates;
        var errors = new List<string>();
        foreach (var name in names)
        {
            nint handle = Dl.Open(name, RtldNow | RtldGlobal);
            if (handle != 0) return new MpiLibrary(handle, name);
            errors.Add(Dl.LastError() ?? name);
        }
        throw new DistributedException(
            $"launched under an MPI launcher, but no MPI library could be loaded ({string.Join("; ", errors)}). " +
            $"Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or set {LibraryVariable}");
    }

    /// <summary>Fails with MPI's own message when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public void Check(int code, string call)
    {
        if (code == Success) return;
        var text = stackalloc byte[1024]; // MPI_MAX_ERROR_STRING is 256 (Open MPI) or 512 (MPICH)
        int length = 0;
        string message = ErrorString(code, text, &length) == Success ? Marshal.PtrToStringUTF8((nint)text, length) : "";
        throw new DistributedException($"{call} failed with MPI error {code}: {message}");
    }

    /// <summary>MPI_Get_library_version's first line.</summary>
    public string Version()
    {
        var text = stackalloc byte[8192]; // MPI_MAX_LIBRARY_VERSION_STRING
        int length = 0;
        if (GetLibraryVersion(text, &length) != Success) return Name;
        var s = Marshal.PtrToStringUTF8((nint)text, length).Trim();
        int end = s.IndexOfAny([',', '\n']); // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
        return (end < 0 ? s : s[..end]).Trim();
    }

    /// <summary>
    /// The user-defined sum on bfloat16 values carried as MPI_UINT16_T (MPI 3 has no bfloat16 type): each addition is
    /// done in float32 and rounded to the nearest bfloat16, ties to even, as torch rounds.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static void BFloat16Sum(void* input, void* inout, int* length, nint* datatype)
    {
        var a = (ushort*)input;
        var b = (ushort*)inout;
        for (int i = 0; i < *length; i++) b[i] = BFloat16Bits.Round(BFloat16Bits.ToSingle(a[i]) + BFloat16Bits.ToSingle(b[i]));
    }

    /// <summary>dlopen/dlerror from the C library (glibc 2.34+ has them in libc.so.6; older ones in libdl.so.2).</summary>
    private static partial class Dl
    {
        public static nint Open(string name, int flags)
        {
            try { return LibcOpen(name, flags); }
            catch (EntryPointNotFoundException) { return LibdlOpen(name, flags); }
        }

        public static string? LastError()
        {
            nint e;
            try { e = LibcError(); }
            catch (EntryPointNotFoundException) { e = LibdlError(); }
            return e == 0 ? null : Marshal.PtrToStringUTF8(e);
        }

        [LibraryImport("libc.so.6", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
        private static partial nint LibcOpen(string name, int flags);

        [LibraryImport("libc.so.6", EntryPoint = "dlerror")]
        private static partial nint LibcError();

        [LibraryImport("libdl.so.2", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
        private static partial nint LibdlOpen(string name, int flags);

        [LibraryImport("libdl.so.2", EntryPoint = "dlerror")]
        private static partial nint LibdlError();
    }
}

/// <summary>bfloat16 bit conversions (the upper half of a float32).</summary>
internal static class BFloat16Bits
{
    /// <summary>The float32 with these upper 16 bits.</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Round to nearest bfloat16, ties to even; NaN stays a (quiet) NaN.</summary>
    public static ushort Round(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((u >> 16) | 0x40);
        u += 0x7FFFu + ((u >> 16) & 1u);
        return (ushort)(u >> 16);
    }
}

/// <summary>An MPI set-up or communication failure, with the MPI library's message.</summary>
public sealed class DistributedException(string message) : AlignSharpException(message);
