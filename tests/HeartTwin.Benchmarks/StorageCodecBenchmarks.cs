using BenchmarkDotNet.Attributes;
using HeartTwin.Signals.Wfdb;
using HeartTwin.Storage.Compression;

namespace HeartTwin.Benchmarks;

/// <summary>
/// Speed of the Storage block's lossless sample codec (HTC1) on MIT-BIH record 208, both leads: one 1-second chunk
/// (2 × 360 samples, what the twin stores per batch) and the whole record as one chunk. Each operation is one sample
/// of one lead. Needs a ProjectReference to src/Blocks/HeartTwin.Storage in HeartTwin.Benchmarks.csproj.
/// </summary>
[MemoryDiagnoser]
public class StorageCodecBenchmarks
{
    private const int Rate = 360;
    private int[][] _second = [];
    private int[][] _record = [];
    private byte[] _secondBlob = [];
    private byte[] _recordBlob = [];

    [GlobalSetup]
    public void Setup()
    {
        var record = WfdbRecord.Read(BenchmarkData.MitDb, "208");
        _record = [.. Enumerable.Range(0, record.SignalCount).Select(s => record.Adc(s).ToArray())];
        // A second of ordinary rhythm from the middle of the record.
        _second = [.. _record.Select(l => l[(600 * Rate)..(601 * Rate)])];
        _secondBlob = SampleCodec.Encode(_second);
        _recordBlob = SampleCodec.Encode(_record);
    }

    [Benchmark(OperationsPerInvoke = 2 * Rate, Description = "Encode 1 s chunk, per sample")]
    public int EncodeSecond() => SampleCodec.Encode(_second).Length;

    [Benchmark(OperationsPerInvoke = 2 * Rate, Description = "Decode 1 s chunk, per sample")]
    public int DecodeSecond() => SampleCodec.Decode(_secondBlob)[0].Length;

    [Benchmark(OperationsPerInvoke = 2 * 650_000, Description = "Encode whole record, per sample")]
    public int EncodeRecord() => SampleCodec.Encode(_record).Length;

    [Benchmark(OperationsPerInvoke = 2 * 650_000, Description = "Decode whole record, per sample")]
    public int DecodeRecord() => SampleCodec.Decode(_recordBlob)[0].Length;
}
