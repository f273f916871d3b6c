using HeartTwin.Storage.Compression;

namespace HeartTwin.Storage.Tests;

public class SampleCodecTests
{
    private static int[][] RoundTrip(int[][] leads, int blockSize = SampleCodec.DefaultBlockSize)
    {
        var blob = SampleCodec.Encode(leads, blockSize);
        var back = SampleCodec.Decode(blob);
        back.Length.ShouldBe(leads.Length);
        for (int l = 0; l < leads.Length; l++)
        {
            back[l].ShouldBe(leads[l]);
        }

        return back;
    }

    [Theory]
    [MemberData(nameof(TestData.RecordNames), MemberType = typeof(TestData))]
    public void Every_shared_record_round_trips_bit_exactly_in_one_second_chunks_and_whole(string record)
    {
        var leads = TestData.Adc(record);
        int length = leads[0].Length;
        for (int start = 0; start < length; start += 360)
        {
            int n = Math.Min(360, length - start);
            var chunk = leads.Select(l => l.AsSpan(start, n).ToArray()).ToArray();
            var back = SampleCodec.Decode(SampleCodec.Encode(chunk));
            for (int l = 0; l < chunk.Length; l++)
            {
                if (!back[l].AsSpan().SequenceEqual(chunk[l]))
                {
                    Assert.Fail($"record {record} lead {l} chunk at {start} differs after the round trip");
                }
            }
        }

        RoundTrip(leads);
    }

    [Fact]
    public void MIT_BIH_compresses_to_at_most_one_byte_per_sample_in_one_second_chunks()
    {
        long bytes = 0, samples = 0;
        foreach (var record in TestData.MitDbRecords)
        {
            var leads = TestData.Adc(record);
            int length = leads[0].Length;
            for (int start = 0; start < length; start += 360)
            {
                int n = Math.Min(360, length - start);
                bytes += SampleCodec.Encode(leads.Select(l => l.AsSpan(start, n).ToArray()).ToArray()).Length;
                samples += n * leads.Length;
            }
        }

        ((double)bytes / samples).ShouldBeLessThanOrEqualTo(1.0);
    }

    [Fact]
    public void Random_int32_data_round_trips_whatever_its_range()
    {
        var random = new Random(20261123);
        foreach (int bits in new[] { 1, 8, 12, 16, 24, 31, 32 })
        {
            var leads = new int[3][];
            for (int l = 0; l < leads.Length; l++)
            {
                leads[l] = new int[5000];
                for (int i = 0; i < leads[l].Length; i++)
                {
                    leads[l][i] = bits == 32 ? random.Next(int.MinValue, int.MaxValue) : random.Next(-(1 << (bits - 1)), 1 << (bits - 1));
                }
            }

            RoundTrip(leads);
            RoundTrip(leads, 16);
        }
    }

    [Fact]
    public void Extremes_round_trip_including_alternating_int32_min_and_max()
    {
        var alternating = Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? int.MinValue : int.MaxValue).ToArray();
        var steps = Enumerable.Range(0, 1000).Select(i => (i / 7) % 3 switch { 0 => int.MinValue, 1 => 0, _ => int.MaxValue }).ToArray();
        var allMin = Enumerable.Repeat(int.MinValue, 700).ToArray();
        var allMax = Enumerable.Repeat(int.MaxValue, 700).ToArray();
        RoundTrip([alternating]);
        RoundTrip([steps]);
        RoundTrip([allMin[..700], allMax]);
        RoundTrip([[int.MinValue], [int.MaxValue]]);
    }

    [Fact]
    public void Constant_leads_take_a_few_bytes()
    {
        var zeros = new int[3600];
        var baseline = Enumerable.Repeat(1024, 3600).ToArray();
        var blob = SampleCodec.Encode([zeros, baseline]);
        blob.Length.ShouldBeLessThan(40);
        RoundTrip([zeros, baseline]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(17)]
    [InlineData(1025)]
    public void Short_and_odd_lengths_round_trip(int length)
    {
        var random = new Random(length);
        var leads = new[] { Enumerable.Range(0, length).Select(_ => random.Next(-2000, 2000)).ToArray(), Enumerable.Range(0, length).Select(i => i * 1000).ToArray() };
        RoundTrip(leads);
    }

    [Fact]
    public void No_leads_round_trip_to_no_leads()
    {
        SampleCodec.Decode(SampleCodec.Encode([])).ShouldBeEmpty();
    }

    [Fact]
    public void Ragged_leads_are_refused()
    {
        Should.Throw<ArgumentException>(() => SampleCodec.Encode([new int[3], new int[4]]));
    }

    [Fact]
    public void Every_single_bit_flip_is_detected()
    {
        var leads = TestData.Adc(TestData.MitDbRecords[0]).Select(l => l[..360]).ToArray();
        var blob = SampleCodec.Encode(leads);
        for (int bit = 0; bit < blob.Length * 8; bit++)
        {
            var copy = (byte[])blob.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Should.Throw<SampleCodecException>(() => SampleCodec.Decode(copy));
        }
    }

    [Fact]
    public void Every_truncation_is_detected()
    {
        var leads = TestData.Adc(TestData.MitDbRecords[1]).Select(l => l[..360]).ToArray();
        var blob = SampleCodec.Encode(leads);
        for (int length = 0; length < blob.Length; length++)
        {
            var ex = Should.Throw<SampleCodecException>(() => SampleCodec.Decode(blob.AsSpan(0, length)));
            ex.Message.ShouldNotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public void Something_else_than_a_chunk_is_refused_with_a_clear_message()
    {
        Should.Throw<SampleCodecException>(() => SampleCodec.Decode("not a chunk at all"u8)).Message.ShouldContain("HTC1");
        Should.Throw<SampleCodecException>(() => SampleCodec.Decode([]));
    }

    [Fact]
    public void Shape_is_read_from_the_header()
    {
        var blob = SampleCodec.Encode([new int[360], new int[360]]);
        SampleCodec.ReadShape(blob).ShouldBe((2, 360));
    }
}
