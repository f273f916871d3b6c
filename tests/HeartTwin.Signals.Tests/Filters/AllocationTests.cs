using HeartTwin.Signals.Filters;
using HeartTwin.Signals.Resampling;

namespace HeartTwin.Signals.Tests.Filters;

public class AllocationTests
{
    [Fact]
    public void Streaming_filters_and_the_resampler_do_not_allocate_per_sample()
    {
        var x = Tone.Sine(10, 360, 3600);
        var y = new float[x.Length];
        var chain = new EcgFilterChain(360);
        var sos = FilterDesign.ButterworthLowPass(4, 40, 360);
        var resampler = new RationalResampler(360, 250);
        var resampled = new float[resampler.MaxOutputLength(x.Length)];

        void RunAll()
        {
            for (int i = 0; i < x.Length; i++)
            {
                y[i] = chain.Process(x[i]) + sos.Process(x[i]);
            }

            chain.Process(x, y);
            sos.Process(x, y);
            resampler.Process(x, resampled);
        }

        RunAll(); // JIT and first-call work outside the measurement.
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.ShouldBe(0);
    }
}
