using HeartTwin.Contracts;
using HeartTwin.Messaging;
using HeartTwin.Storage.Compression;
using Microsoft.Extensions.DependencyInjection;

namespace HeartTwin.Storage.Tests;

/// <summary>
/// The store's contract, run against every provider (SqliteStoreTests, PostgresStoreContractTests derive from it): the same
/// messages in give the same answers out, so the providers are interchangeable.
/// </summary>
public abstract class StoreContractTests(StoreProvider provider) : IDisposable
{
    protected StoreProvider Provider => provider;

    public void Dispose()
    {
        provider.Dispose();
        GC.SuppressFinalize(this);
    }

    private static readonly DateTimeOffset Far = Batches.T0.AddDays(1);
    private static readonly string[] RoundTripRecords = ["100", "208"];

    [Fact]
    public async Task Real_MIT_BIH_batches_published_on_the_bus_come_back_bit_for_bit()
    {
        await using var storage = await provider.StartAsync();
        foreach (var record in RoundTripRecords.Where(TestData.MitDbRecords.Contains).DefaultIfEmpty(TestData.MitDbRecords[0]))
        {
            for (long seq = 0; seq < 60; seq++)
            {
                await storage.Bus.PublishAsync(Batches.FromRecord(record, "dev-" + record, "pat-" + record, seq));
            }

            var result = await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-" + record, Batches.T0, Far));
            result.Segments.Count.ShouldBe(60);
            result.Segments.Select(s => s.Sequence).ShouldBe(Enumerable.Range(0, 60).Select(i => (long)i));
            result.Segments[0].Leads.ShouldBe(Batches.Leads(record));
            var stored = Batches.Concat(result);
            var original = TestData.Adc(record);
            for (int l = 0; l < original.Length; l++)
            {
                stored[l].ShouldBe(original[l][..(60 * 360)]);
            }
        }

        storage.Stats.Snapshot().BytesPerSample.ShouldBeInRange(0.1, 1.0);
    }

    [Fact]
    public async Task Duplicate_sequence_is_acknowledged_and_not_stored_twice()
    {
        await using var storage = await provider.StartAsync();
        var first = Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 5);
        await storage.Bus.PublishAsync(first);
        await storage.Bus.PublishAsync(first);
        // A replay with other content under the same (device, sequence) does not overwrite what was acknowledged.
        var replay = first with { Samples = [.. first.Samples.Select(s => s.Select(v => v + 1).ToArray())] };
        await storage.Bus.PublishAsync(replay);

        (await storage.Store.CountAsync("sample_chunks")).ShouldBe(1);
        var result = await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far));
        result.Segments.Count.ShouldBe(1);
        result.Segments[0].Samples[0].ShouldBe(first.Samples[0]);
        storage.Stats.Snapshot().DuplicatesIgnored.ShouldBe(2);
    }

    [Fact]
    public async Task Range_queries_trim_chunks_to_the_range_and_keep_only_the_asked_lead()
    {
        await using var storage = await provider.StartAsync();
        string record = TestData.MitDbRecords[0];
        for (long seq = 0; seq < 5; seq++)
        {
            await storage.Bus.PublishAsync(Batches.FromRecord(record, "dev-1", "pat-1", seq));
        }

        // From sample 540 (1.5 s) to sample 1260 (3.5 s), exclusive: across three chunks.
        var from = Batches.T0.AddTicks(540 * TimeSpan.TicksPerSecond / 360);
        var to = Batches.T0.AddTicks(1260 * TimeSpan.TicksPerSecond / 360);
        string lead = Batches.Leads(record)[1].Name;
        var result = await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", from, to, lead));

        result.Segments.Select(s => s.Sequence).ShouldBe([1L, 2L, 3L]);
        result.Segments.ShouldAllBe(s => s.Leads.Count == 1 && s.Leads[0].Name == lead && s.Samples.Length == 1);
        result.Segments[0].StartTime.ShouldBe(from);
        result.Segments.Select(s => s.Samples[0].Length).ShouldBe([180, 360, 180]);
        Batches.Concat(result)[0].ShouldBe(TestData.Adc(record)[1][540..1260]);

        (await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", from, to, "no-such-lead"))).Segments.ShouldBeEmpty();
        (await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", to, from))).Segments.ShouldBeEmpty();
        (await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("someone-else", from, to))).Segments.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_range_larger_than_the_query_allows_is_refused_not_truncated()
    {
        await using var storage = await provider.StartAsync();
        for (long seq = 0; seq < 3; seq++)
        {
            await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", seq));
        }

        var ex = await Should.ThrowAsync<ArgumentOutOfRangeException>(() =>
            storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far, MaxSamplesPerLead: 700)));
        ex.Message.ShouldContain("700");
        await Should.ThrowAsync<ArgumentOutOfRangeException>(() => storage.Ask<BeatsQuery, BeatsResult>(new BeatsQuery("pat-1", Batches.T0, Far, Limit: 0)));
    }

    [Fact]
    public async Task A_corrupted_chunk_fails_the_query_loudly_instead_of_returning_wrong_samples()
    {
        await using var storage = await provider.StartAsync();
        await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0));
        await provider.CorruptFirstChunkAsync();

        await Should.ThrowAsync<SampleCodecException>(() => storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far)));
    }

    [Fact]
    public async Task The_audit_trail_refuses_update_and_delete_and_reports_its_head()
    {
        await using var storage = await provider.StartAsync();
        (await storage.Ask<AuditQuery, AuditResult>(new AuditQuery())).ShouldSatisfyAllConditions(
            r => r.Entries.ShouldBeEmpty(), r => r.LastSequence.ShouldBe(0), r => r.LastHash.ShouldBe(new string('0', 64)));

        var entries = Enumerable.Range(1, 3).Select(i => new AuditRecorded(i, Batches.T0.AddMinutes(i), "share", "recipient-" + i, i == 2 ? "pat-2" : "pat-1",
            "ecg", i != 3, "rule-" + i, "because", "v1", new string((char)('0' + i - 1), 64), new string((char)('0' + i), 64))).ToList();
        foreach (var e in entries)
        {
            await storage.Bus.PublishAsync(e);
        }

        await storage.Bus.PublishAsync(entries[1]); // redelivery: fine, stored once
        var all = await storage.Ask<AuditQuery, AuditResult>(new AuditQuery());
        all.Entries.ShouldBe(entries);
        all.LastSequence.ShouldBe(3);
        all.LastHash.ShouldBe(entries[2].Hash);
        var onlyPat1 = await storage.Ask<AuditQuery, AuditResult>(new AuditQuery(FromSequence: 2, PatientId: "pat-1"));
        onlyPat1.Entries.Select(e => e.Sequence).ShouldBe([3L]);
        onlyPat1.LastSequence.ShouldBe(3);

        // A different entry under a stored sequence would fork the chain: refused.
        await Should.ThrowAsync<MessageDeliveryException>(() => storage.Bus.PublishAsync(entries[0] with { Reason = "rewritten", Hash = new string('f', 64) }));

        foreach (var sql in new[] { "UPDATE audit SET reason = 'rewritten' WHERE sequence = 3", "DELETE FROM audit WHERE sequence = 1", "DELETE FROM audit" })
        {
            (await provider.TryExecuteRawAsync(sql)).ShouldNotBeNull(sql).ShouldContain("append-only");
        }

        (await storage.Ask<AuditQuery, AuditResult>(new AuditQuery())).Entries.ShouldBe(entries);
    }

    [Fact]
    public async Task Retention_deletes_old_samples_beats_and_windows_but_never_the_audit_trail()
    {
        var now = new ManualTime(Batches.T0.AddDays(100));
        await using var storage = await provider.StartAsync(now, new Dictionary<string, string?> { ["Storage:RetentionDays"] = "30" });
        var old = now.Now.AddDays(-31);
        var recent = now.Now.AddDays(-1);
        await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0, receivedAt: old));
        await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 1, receivedAt: recent));
        await storage.Bus.PublishAsync(Beats("dev-1", "pat-1", 0, old, Batches.T0.AddSeconds(0.5)));
        await storage.Bus.PublishAsync(Beats("dev-1", "pat-1", 1, recent, Batches.T0.AddSeconds(1.5)));
        await storage.Bus.PublishAsync(Window("dev-1", "pat-1", 0, old));
        await storage.Bus.PublishAsync(Window("dev-1", "pat-1", 1, recent));
        await storage.Bus.PublishAsync(new AuditRecorded(1, old, "action", "agent", "pat-1", "a1", true, "r", "why", "v1", new string('0', 64), new string('1', 64)));

        // The service's own start-up pass may already have run beside the publishing; either way the old rows go.
        long deleted = await storage.Services.GetRequiredService<RetentionService>().RunOnceAsync(CancellationToken.None);

        deleted.ShouldBeInRange(0, 3);
        var samples = await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far));
        samples.Segments.Select(s => s.Sequence).ShouldBe([1L]);
        (await storage.Ask<BeatsQuery, BeatsResult>(new BeatsQuery("pat-1", Batches.T0, Far))).Beats.Count.ShouldBe(1);
        (await storage.Ask<WindowsQuery, WindowsResult>(new WindowsQuery("pat-1", Batches.T0, Far))).Windows.Select(w => w.WindowSequence).ShouldBe([1L]);
        (await storage.Ask<AuditQuery, AuditResult>(new AuditQuery())).Entries.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Zero_retention_days_keeps_everything()
    {
        var now = new ManualTime(Batches.T0.AddYears(10));
        await using var storage = await provider.StartAsync(now, new Dictionary<string, string?> { ["Storage:RetentionDays"] = "0" });
        await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0, receivedAt: Batches.T0));
        (await storage.Services.GetRequiredService<RetentionService>().RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        (await storage.Store.CountAsync("sample_chunks")).ShouldBe(1);
    }

    [Fact]
    public async Task Reopening_the_database_after_dispose_keeps_everything()
    {
        string record = TestData.MitDbRecords[2];
        var decision = Decision("pat-1", "a-1", allowed: true);
        await using (var storage = await provider.StartAsync())
        {
            await storage.Bus.PublishAsync(new DeviceRegistered("dev-1", "pat-1", "ecg-patch", Batches.T0));
            for (long seq = 0; seq < 10; seq++)
            {
                await storage.Bus.PublishAsync(Batches.FromRecord(record, "dev-1", "pat-1", seq));
            }

            await storage.Bus.PublishAsync(decision);
        }

        await using (var reopened = await provider.StartAsync())
        {
            var samples = await reopened.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far));
            Batches.Concat(samples)[0].ShouldBe(TestData.Adc(record)[0][..3600]);
            var patients = await reopened.Ask<PatientsQuery, PatientsResult>(new PatientsQuery());
            patients.Patients.Single().Devices.ShouldBe(["dev-1"]);
            (await reopened.Ask<EventsQuery, EventsResult>(new EventsQuery("pat-1", Batches.T0, Far))).Actions.Single().Decision!.Allowed.ShouldBeTrue();
            // And the reopened store still deduplicates against what was stored before.
            await reopened.Bus.PublishAsync(Batches.FromRecord(record, "dev-1", "pat-1", 3));
            (await reopened.Store.CountAsync("sample_chunks")).ShouldBe(10);
        }
    }

    [Fact]
    public async Task Erasing_a_patient_removes_all_their_data_but_keeps_the_audit_and_other_patients()
    {
        await using var storage = await provider.StartAsync();
        foreach (var patient in new[] { "pat-1", "pat-2" })
        {
            string device = "dev-" + patient;
            await storage.Bus.PublishAsync(new DeviceRegistered(device, patient, "ecg-patch", Batches.T0));
            await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], device, patient, 0));
            await storage.Bus.PublishAsync(Beats(device, patient, 0, Batches.T0, Batches.T0.AddSeconds(0.5)));
            await storage.Bus.PublishAsync(Window(device, patient, 0, Batches.T0));
            await storage.Bus.PublishAsync(new VitalsReceived(device, patient, 1, [new VitalObservation(VitalCodes.SpO2, 97, "%", Batches.T0)], Batches.T0));
            await storage.Bus.PublishAsync(Decision(patient, "a-" + patient, allowed: true));
            await storage.Bus.PublishAsync(Analysis(patient, device));
        }

        await storage.Bus.PublishAsync(new AuditRecorded(1, Batches.T0, "share", "x", "pat-1", "ecg", true, "r", "why", "v1", new string('0', 64), new string('1', 64)));

        var erased = await storage.Ask<ErasePatientRequest, ErasePatientResult>(new ErasePatientRequest("pat-1", "dpo"));

        erased.RowsDeleted.ShouldBeGreaterThanOrEqualTo(8);
        (await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far))).Segments.ShouldBeEmpty();
        (await storage.Ask<BeatsQuery, BeatsResult>(new BeatsQuery("pat-1", Batches.T0, Far))).Beats.ShouldBeEmpty();
        (await storage.Ask<WindowsQuery, WindowsResult>(new WindowsQuery("pat-1", Batches.T0, Far))).Windows.ShouldBeEmpty();
        (await storage.Ask<VitalsQuery, VitalsResult>(new VitalsQuery("pat-1", Batches.T0, Far))).Observations.ShouldBeEmpty();
        (await storage.Ask<EventsQuery, EventsResult>(new EventsQuery("pat-1", Batches.T0, Far))).Actions.ShouldBeEmpty();
        (await storage.Ask<PatientsQuery, PatientsResult>(new PatientsQuery())).Patients.Select(p => p.PatientId).ShouldBe(["pat-2"]);
        (await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-2", Batches.T0, Far))).Segments.Count.ShouldBe(1);
        (await storage.Ask<AuditQuery, AuditResult>(new AuditQuery())).Entries.Single().PatientId.ShouldBe("pat-1");
    }

    [Fact]
    public async Task Many_concurrent_publishers_lose_nothing()
    {
        await using var storage = await provider.StartAsync();
        string record = TestData.MitDbRecords[3];
        const int Devices = 40, PerDevice = 50;
        var publishers = Enumerable.Range(0, Devices).Select(d => Task.Run(async () =>
        {
            for (long seq = 0; seq < PerDevice; seq++)
            {
                await storage.Bus.PublishAsync(Batches.FromRecord(record, $"dev-{d}", $"pat-{d % 20}", seq));
            }
        }));
        await Task.WhenAll(publishers);

        (await storage.Store.CountAsync("sample_chunks")).ShouldBe(Devices * PerDevice);
        var stats = storage.Stats.Snapshot();
        stats.ChunksWritten.ShouldBe(Devices * PerDevice);
        stats.WriteLatencyP99Ms.ShouldNotBeNull();
        var one = await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-7", Batches.T0, Far));
        one.Segments.Count.ShouldBe(2 * PerDevice); // dev-7 and dev-27
        one.Segments.Where(s => s.DeviceId == "dev-27").SelectMany(s => s.Samples[0]).ShouldBe(TestData.Adc(record)[0][..(PerDevice * 360)]);
    }

    [Fact]
    public async Task Beats_get_their_class_from_the_analysis_and_the_twin_state_is_the_latest()
    {
        await using var storage = await provider.StartAsync();
        var b1 = Batches.T0.AddSeconds(0.5);
        var b2 = Batches.T0.AddSeconds(1.3);
        await storage.Bus.PublishAsync(Beats("dev-1", "pat-1", 0, Batches.T0, b1, b2));
        await storage.Bus.PublishAsync(Analysis("pat-1", "dev-1", Batches.T0.AddMinutes(1), new ClassifiedBeat(b1, "N", 0.99), new ClassifiedBeat(b2, "V", 0.87)));
        await storage.Bus.PublishAsync(Analysis("pat-1", "dev-1", Batches.T0)); // older state arriving late: ignored
        // The beat message redelivered after classification keeps the class.
        await storage.Bus.PublishAsync(Beats("dev-1", "pat-1", 0, Batches.T0, b1, b2));

        var beats = (await storage.Ask<BeatsQuery, BeatsResult>(new BeatsQuery("pat-1", Batches.T0, Far))).Beats;
        beats.Select(b => (b.Time, b.Class, b.Confidence, b.ModelId)).ShouldBe([(b1, "N", 0.99, "beat-cnn@1.0.0"), (b2, "V", 0.87, "beat-cnn@1.0.0")]);
        beats[1].RrMs.ShouldBe(800);
        (await storage.Ask<BeatsQuery, BeatsResult>(new BeatsQuery("pat-1", Batches.T0, Far, Limit: 1))).Beats.Single().Time.ShouldBe(b1);
        var state = (await storage.Ask<PatientsQuery, PatientsResult>(new PatientsQuery(["pat-1", "nobody"]))).Patients.Single().State!;
        state.UpdatedAt.ShouldBe(Batches.T0.AddMinutes(1));
        state.BeatCounts["V"].ShouldBe(1);
    }

    [Fact]
    public async Task Events_carry_their_decision_and_latest_command_status_whatever_the_arrival_order()
    {
        await using var storage = await provider.StartAsync();
        var decided = Decision("pat-1", "a-1", allowed: true);
        var command = decided.Proposal.Command!;
        var sent = new CommandStatusChanged("c-1", "a-1", "dev-1", "pat-1", command, "sent", 1, Batches.T0.AddSeconds(2), null);
        var acked = sent with { Status = "acknowledged", UpdatedAt = Batches.T0.AddSeconds(3), Detail = "ok" };
        await storage.Bus.PublishAsync(acked);
        await storage.Bus.PublishAsync(sent); // late, older: does not win
        await storage.Bus.PublishAsync(decided); // before its proposal
        await storage.Bus.PublishAsync(decided.Proposal);
        await storage.Bus.PublishAsync(Decision("pat-1", "a-2", allowed: false).Proposal);

        var events = (await storage.Ask<EventsQuery, EventsResult>(new EventsQuery("pat-1", Batches.T0, Far))).Actions;
        events.Count.ShouldBe(2);
        events[0].Proposal.ActionId.ShouldBe("a-1");
        events[0].Proposal.Details["heartRateBpm"].ShouldBe("142");
        events[0].Decision!.Rule.ShouldBe("rule-1");
        events[0].CommandStatus!.Status.ShouldBe("acknowledged");
        events[1].Decision.ShouldBeNull();
        events[1].CommandStatus.ShouldBeNull();
        (await storage.Ask<EventsQuery, EventsResult>(new EventsQuery("pat-1", Batches.T0, Far, Limit: 1))).Actions.Single().Proposal.ActionId.ShouldBe("a-2");
    }

    [Fact]
    public async Task Windows_vitals_and_gaps_are_stored_once_and_queried_by_time()
    {
        await using var storage = await provider.StartAsync();
        for (int w = 0; w < 5; w++)
        {
            await storage.Bus.PublishAsync(Window("dev-1", "pat-1", w, Batches.T0));
        }

        await storage.Bus.PublishAsync(Window("dev-1", "pat-1", 2, Batches.T0));
        var vitals = new VitalsReceived("dev-1", "pat-1", 7,
            [new VitalObservation(VitalCodes.SystolicPressure, 120, "mm[Hg]", Batches.T0), new VitalObservation(VitalCodes.DiastolicPressure, 80, "mm[Hg]", Batches.T0)], Batches.T0);
        await storage.Bus.PublishAsync(vitals);
        await storage.Bus.PublishAsync(vitals);
        var gap = new SequenceGapDetected("dev-1", "pat-1", 10, 13, Batches.T0);
        await storage.Bus.PublishAsync(gap);
        await storage.Bus.PublishAsync(gap);

        var earliest = (await storage.Ask<WindowsQuery, WindowsResult>(new WindowsQuery("pat-1", Batches.T0, Far, Limit: 2))).Windows;
        earliest.Select(w => w.WindowSequence).ShouldBe([0L, 1L]);
        earliest[0].QualityIssues.ShouldBe(["noise"]);
        earliest[0].RrMs.ShouldBe([800.0, 810.0]);
        (await storage.Ask<WindowsQuery, WindowsResult>(new WindowsQuery("pat-1", Batches.T0, Far, Limit: 2, Latest: true))).Windows.Select(w => w.WindowSequence).ShouldBe([3L, 4L]);
        (await storage.Ask<WindowsQuery, WindowsResult>(new WindowsQuery("pat-1", Batches.T0.AddSeconds(20), Batches.T0.AddSeconds(40)))).Windows.Select(w => w.WindowSequence).ShouldBe([2L, 3L]);
        var stored = (await storage.Ask<VitalsQuery, VitalsResult>(new VitalsQuery("pat-1", Batches.T0, Far))).Observations;
        stored.Select(o => (o.DeviceId, o.Observation)).ShouldBe(vitals.Observations.Select(o => ("dev-1", o)));
        (await storage.Store.CountAsync("gaps")).ShouldBe(1);
    }

    [Fact]
    public async Task An_unknown_provider_fails_at_start_with_a_clear_message()
    {
        var ex = await Should.ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            provider.StartAsync(settings: new Dictionary<string, string?> { ["Storage:Provider"] = "Oracle" }));
        ex.Message.ShouldContain("Storage:Provider must be");
    }

    internal static BeatsAcquired Beats(string device, string patient, long sequence, DateTimeOffset receivedAt, params DateTimeOffset[] times) =>
        new(patient, device, sequence, receivedAt, "beat-window-v1", [.. times.Select(t => new AcquiredBeat(t, 800, "MLII"))], [], []);

    private static WindowAcquired Window(string device, string patient, long sequence, DateTimeOffset receivedAt) =>
        new(patient, device, sequence, Batches.T0.AddSeconds(10 * sequence), Batches.T0.AddSeconds(10 * (sequence + 1)), 360, 360, ["MLII", "V5"],
            0.9, "good", ["noise"], 12, 72.5, [800, 810], receivedAt);

    private static ActionDecided Decision(string patient, string actionId, bool allowed)
    {
        var proposal = new ActionProposed(actionId, patient, "dev-1", EventTypes.HeartRateHigh, "warning", "HR 142", Batches.T0.AddSeconds(actionId.Length),
            Batches.T0, Batches.T0, "agent", new DeviceCommand(DeviceCommands.RaiseAlarm, new Dictionary<string, string> { ["level"] = "2" }),
            new Dictionary<string, string> { ["heartRateBpm"] = "142" });
        return new ActionDecided(proposal, allowed, allowed ? "rule-1" : "default-deny", "why", Batches.T0.AddSeconds(1), "v1");
    }

    private static AnalysisCompleted Analysis(string patient, string device, DateTimeOffset? updatedAt = null, params ClassifiedBeat[] beats) =>
        new(patient, new TwinState(patient, updatedAt ?? Batches.T0, Batches.T0, 72, 70, 40, 30, 5, RhythmLabels.Regular,
            new Dictionary<string, long> { ["N"] = 10, ["V"] = updatedAt is null ? 0 : 1 }, 0, 0.9, "beat-cnn@1.0.0", device, true, 3), beats, device);
}
