using HeartTwin.Cli.Simulation;
using HeartTwin.Simulation;
using HeartTwin.Contracts;

namespace HeartTwin.Signals.Tests.Simulation;

public class RecordBatcherTests
{
    private static readonly SimulatedRecord Ten = new("ten", 10, [new LeadInfo("I", 200, 0), new LeadInfo("II", 200, 0)],
        [Enumerable.Range(0, 10).ToArray(), Enumerable.Range(100, 10).ToArray()]);

    [Fact]
    public void Without_loop_the_last_batch_is_shorter_and_then_there_are_none()
    {
        var batcher = new RecordBatcher(Ten, 4, loop: false);
        batcher.Next()![0].ShouldBe([0, 1, 2, 3]);
        batcher.Next()![1].ShouldBe([104, 105, 106, 107]);
        batcher.Next()![0].ShouldBe([8, 9]);
        batcher.Next().ShouldBeNull();
    }

    [Fact]
    public void With_loop_batches_straddle_the_end_and_continue_from_the_start()
    {
        var batcher = new RecordBatcher(Ten, 4, loop: true, startOffset: 7);
        batcher.Next()![0].ShouldBe([7, 8, 9, 0]);
        batcher.Next()![0].ShouldBe([1, 2, 3, 4]);
        for (int i = 0; i < 10; i++)
        {
            batcher.Next().ShouldNotBeNull();
        }

        batcher.SamplesTaken.ShouldBe(48);
    }

    [Fact]
    public void A_start_offset_without_loop_streams_to_the_end_only()
    {
        var batcher = new RecordBatcher(Ten, 4, loop: false, startOffset: 7);
        batcher.Next()![0].ShouldBe([7, 8, 9]);
        batcher.Next().ShouldBeNull();
    }

    [Fact]
    public void A_limit_ends_the_stream_at_an_exact_sample_count()
    {
        var batcher = new RecordBatcher(Ten, 4, loop: true);
        batcher.Next(6)![0].Length.ShouldBe(4);
        batcher.Next(2)![0].ShouldBe([4, 5]);
        batcher.Next(0).ShouldBeNull();
    }
}
