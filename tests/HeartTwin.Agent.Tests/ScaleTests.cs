using System.Diagnostics;
using HeartTwin.Contracts;
using HeartTwin.Inference;
using HeartTwin.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HeartTwin.Agent.Tests;

/// <summary>Many patients: one batched inference call per run. Times are printed, not asserted.</summary>
public sealed class ScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_thousand_patients_are_classified_in_one_request_per_run()
    {
        var counter = new CountingClassifier();
        await using var agent = await AgentHarness.StartAsync(configure: s =>
        {
            s.AddSingleton(counter);
            s.AddSingleton<IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>>(sp =>
            {
                counter.Inner = sp.GetRequiredService<ClassifyBeatsHandler>();
                return counter;
            });
        });
        var record = RecordBeats.Load("101");
        // 1,000 patients, each streaming a different 20 s stretch of record 101 (about 1.2 beats/s each).
        var streams = Enumerable.Range(0, 1000)
            .Select(p => record.Messages($"p{p}", $"d{p}", AgentHarness.Epoch - TimeSpan.FromSeconds(p % 60 * 20)).Skip(p % 60 * 20).Take(20).ToList())
            .ToList();
        var runs = new List<double>();
        for (int second = 0; second < 20; second++)
        {
            foreach (var s in streams)
            {
                await agent.Bus.PublishAsync(s[second]);
            }

            var clock = Stopwatch.StartNew();
            await agent.Scheduler.RunOnceAsync();
            runs.Add(clock.Elapsed.TotalMilliseconds);
            output.WriteLine(agent.Scheduler.LastRun!.ToString());
        }

        int beats = streams.Sum(s => s.Sum(m => m.Beats.Count));
        output.WriteLine($"{beats} beats of 1,000 patients in 20 runs; classify requests {counter.Requests}, largest {counter.Largest} beats; run median {runs.Order().ElementAt(10):0} ms, max {runs.Max():0} ms; inference median {counter.InferenceMs.Order().ElementAt(10):0} ms");
        counter.Requests.ShouldBe(20);
        agent.Recorder.Analyses.Select(a => a.PatientId).Distinct().Count().ShouldBe(1000);
        agent.Recorder.Analyses.Sum(a => a.Beats.Count).ShouldBe(beats);
    }

    private sealed class CountingClassifier : IRequestHandler<ClassifyBeatsRequest, ClassifyBeatsResult>
    {
        public ClassifyBeatsHandler Inner { get; set; } = null!;

        public int Requests;

        public int Largest;

        public List<double> InferenceMs { get; } = [];

        public Task<ClassifyBeatsResult> HandleAsync(ClassifyBeatsRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Requests);
            Largest = Math.Max(Largest, request.BeatCount);
            var clock = Stopwatch.StartNew();
            var result = Inner.HandleAsync(request, cancellationToken);
            InferenceMs.Add(clock.Elapsed.TotalMilliseconds);
            return result;
        }
    }
}
