using System.Net.Http.Json;
using HeartTwin.Contracts;
using HeartTwin.Contracts.Wire;

namespace HeartTwin.Connector.Tests;

/// <summary>Device payloads built from real MIT-BIH signal.</summary>
public static class Batches
{
    public const int PerBatch = 360; // one second of record 101

    public static DateTimeOffset Start(long sequence) => new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero).AddSeconds(sequence);

    public static int[][] Samples(long sequence) => TestData.Slice(TestData.Mit101, (int)(sequence % 1000) * PerBatch, PerBatch);

    /// <summary>A JSON batch as a device would send it (camelCase).</summary>
    public static SampleBatchDto Dto(long sequence) => new()
    {
        Sequence = sequence,
        StartTime = Start(sequence),
        SampleRateHz = TestData.Mit101.SamplingFrequencyHz,
        Leads = [.. TestData.Leads(TestData.Mit101).Select(l => new LeadDto { Name = l.Name, Gain = l.Gain, Baseline = l.Baseline, Units = l.Units })],
        Samples = [.. Samples(sequence).Select(s => s.ToList())],
    };

    public static JsonContent Json(long sequence) => JsonContent.Create(Dto(sequence));

    private static readonly System.Text.Json.JsonSerializerOptions Web = new(System.Text.Json.JsonSerializerDefaults.Web);

    public static byte[] JsonBytes(long sequence) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Dto(sequence), Web);

    public static byte[] ToJson<T>(T value) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, Web);

    public static T FromJson<T>(ReadOnlySpan<byte> json) => System.Text.Json.JsonSerializer.Deserialize<T>(json, Web)!;

    public static byte[] Binary(long sequence) =>
        BinarySampleBatch.Encode(sequence, Start(sequence), TestData.Mit101.SamplingFrequencyHz, TestData.Leads(TestData.Mit101), Samples(sequence));

    public static ByteArrayContent BinaryContent(long sequence)
    {
        var content = new ByteArrayContent(Binary(sequence));
        content.Headers.ContentType = new(BinarySampleBatch.ContentType);
        return content;
    }

    /// <summary>Raw JSON with the given content type.</summary>
    public static StringContent Raw(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static void ShouldEqualSent(this SamplesReceived stored, long sequence)
    {
        stored.Sequence.ShouldBe(sequence);
        stored.StartTime.ShouldBe(Start(sequence));
        stored.SampleRateHz.ShouldBe(360);
        stored.Leads.Select(l => l.Name).ShouldBe(["MLII", "V1"]);
        stored.Leads.ShouldAllBe(l => l.Gain == 200 && l.Baseline == 1024 && l.Units == "mV");
        var sent = Samples(sequence);
        stored.Samples.Length.ShouldBe(sent.Length);
        for (int lead = 0; lead < sent.Length; lead++)
        {
            stored.Samples[lead].ShouldBe(sent[lead]);
        }
    }
}
