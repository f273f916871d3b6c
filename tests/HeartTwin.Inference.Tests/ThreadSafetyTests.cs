namespace HeartTwin.Inference.Tests;

public sealed class ThreadSafetyTests
{
    [Fact]
    public void One_shared_classifier_gives_concurrent_callers_the_sequential_outputs()
    {
        using var model = BeatClassifier.Load(TestFiles.TinyCard);
        const int Threads = 4;
        const int Rounds = 40;
        int[] batchSizes = [1, 3, 17, 64];
        var (beats, rr) = ClassifyTests.RandomBeats(64, seed: 11);

        // The reference: each batch size once, on this thread.
        var expected = batchSizes.ToDictionary(b => b, b =>
        {
            var output = new float[b * 5];
            model.Classify(beats.AsSpan(0, b * 256), rr.AsSpan(0, b * 6), b, output);
            return output;
        });

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var output = new float[64 * 5];
            for (int round = 0; round < Rounds; round++)
            {
                int b = batchSizes[(round + t) % batchSizes.Length];
                model.Classify(beats.AsSpan(0, b * 256), rr.AsSpan(0, b * 6), b, output);
                if (!output.AsSpan(0, b * 5).SequenceEqual(expected[b]))
                {
                    failures.Add($"thread {t} round {round} batch {b}");
                }

                var list = model.Classify(ClassifyTests.Inputs(beats, rr, b));
                for (int i = 0; i < b; i++)
                {
                    if (!list[i].Probabilities.SequenceEqual(expected[b].AsSpan(i * 5, 5).ToArray()))
                    {
                        failures.Add($"thread {t} round {round} list batch {b} beat {i}");
                    }
                }
            }
        })).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        failures.ShouldBeEmpty();
    }
}
