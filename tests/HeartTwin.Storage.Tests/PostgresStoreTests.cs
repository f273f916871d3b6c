using System.Collections.Concurrent;
using System.Diagnostics;
using HeartTwin.Contracts;
using HeartTwin.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HeartTwin.Storage.Tests;

/// <summary>What only the PostgreSQL provider has: migrations shared by replicas, a server that restarts, its configuration.</summary>
[Collection(PostgresGroup.Name)]
public sealed class PostgresStoreTests(PostgresServer server) : IDisposable
{
    private static readonly DateTimeOffset Far = Batches.T0.AddDays(1);
    private readonly PostgresProvider provider = new(server);

    [Fact]
    public async Task Starting_twice_on_one_database_applies_each_migration_once()
    {
        await using (var first = await provider.StartAsync())
        {
            await first.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0));
        }

        await using var second = await provider.StartAsync();
        (await VersionsAsync()).ShouldBe([1]);
        (await second.Store.CountAsync("sample_chunks")).ShouldBe(1);
    }

    [Fact]
    public async Task Replicas_starting_at_once_on_an_empty_database_migrate_it_exactly_once_and_all_serve()
    {
        await provider.ConnectionStringAsync();
        var replicas = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => provider.StartAsync())));
        try
        {
            (await VersionsAsync()).ShouldBe([1]);
            // Every replica writes and sees the others' writes: one database.
            for (int r = 0; r < replicas.Length; r++)
            {
                await replicas[r].Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", r));
            }

            foreach (var replica in replicas)
            {
                (await replica.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far))).Segments.Count.ShouldBe(replicas.Length);
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_database_with_a_newer_schema_than_this_build_is_refused_at_start()
    {
        await (await provider.StartAsync()).DisposeAsync();
        await ExecuteAsync("INSERT INTO schema_version (version) VALUES (99)");
        var ex = await Should.ThrowAsync<InvalidOperationException>(() => provider.StartAsync());
        ex.Message.ShouldContain("newer than this build");
    }

    [Fact]
    public async Task A_crash_and_restart_of_the_server_mid_stream_loses_no_acknowledged_batch_and_stores_none_twice()
    {
        await using var storage = await provider.StartAsync();
        string record = TestData.MitDbRecords[1];
        const int Devices = 8, PerDevice = 60;
        var acknowledged = new ConcurrentBag<(string Device, long Sequence)>();
        var slowest = new ConcurrentBag<double>();
        int failures = 0;
        using var crashed = new CancellationTokenSource();
        var publishers = Enumerable.Range(0, Devices).Select(d => Task.Run(async () =>
        {
            for (long seq = 0; seq < PerDevice; seq++)
            {
                var batch = Batches.FromRecord(record, $"dev-{d}", $"pat-{d % 4}", seq);
                var clock = Stopwatch.StartNew();
                // At least once, as a device does: a batch that was not acknowledged is sent again.
                while (true)
                {
                    try
                    {
                        await storage.Bus.PublishAsync(batch);
                        break;
                    }
                    catch (MessageDeliveryException)
                    {
                        Interlocked.Increment(ref failures);
                        await Task.Delay(200);
                    }
                }

                slowest.Add(clock.Elapsed.TotalSeconds);
                acknowledged.Add((batch.DeviceId, seq));
                if (acknowledged.Count >= Devices * PerDevice / 3)
                {
                    await crashed.CancelAsync();
                }
            }
        })).ToList();

        // Mid-stream: the server dies without a checkpoint and comes back (crash recovery) on the same port after 1.5 s.
        await Task.Delay(Timeout.Infinite, crashed.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        int ackedBeforeCrash = acknowledged.Count;
        await server.CrashAsync();
        await Task.Delay(1_500);
        await server.StartAsync();
        await Task.WhenAll(publishers);

        ackedBeforeCrash.ShouldBeLessThan(Devices * PerDevice);
        acknowledged.Count.ShouldBe(Devices * PerDevice);
        // The store's own retry rode out the outage: no publish failed, although the bus itself tries a handler only twice.
        failures.ShouldBe(0);
        slowest.Max().ShouldBeGreaterThan(1.0, "some writes were in flight while the server was down, and waited for it");
        (await storage.Store.CountAsync("sample_chunks")).ShouldBe(Devices * PerDevice);
        await using var raw = new NpgsqlConnection(await provider.ConnectionStringAsync() + ";Pooling=false");
        await raw.OpenAsync();
        await using var perDevice = new NpgsqlCommand("SELECT count(DISTINCT device_id), min(n), max(n) FROM (SELECT device_id, count(*) AS n, max(sequence) AS top FROM sample_chunks GROUP BY device_id) x", raw);
        await using (var reader = await perDevice.ExecuteReaderAsync())
        {
            (await reader.ReadAsync()).ShouldBeTrue();
            (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)).ShouldBe((Devices, PerDevice, PerDevice));
        }

        // What was stored is what was sent, bit for bit, each batch once.
        var samples = await storage.Ask<SamplesQuery, SamplesResult>(new SamplesQuery("pat-1", Batches.T0, Far));
        samples.Segments.Where(s => s.DeviceId == "dev-5").SelectMany(s => s.Samples[0]).ShouldBe(TestData.Adc(record)[0][..(PerDevice * 360)]);
        samples.Segments.Count.ShouldBe(2 * PerDevice);
    }

    [Fact]
    public async Task The_audit_trigger_refuses_update_delete_and_truncate_even_for_the_superuser()
    {
        await using var storage = await provider.StartAsync();
        await storage.Bus.PublishAsync(new AuditRecorded(1, Batches.T0, "share", "x", "pat-1", "ecg", true, "r", "why", "v1", new string('0', 64), new string('1', 64)));

        (await provider.TryExecuteRawAsync("UPDATE audit SET allowed = false")).ShouldNotBeNull().ShouldContain("append-only: entries cannot be updated");
        (await provider.TryExecuteRawAsync("DELETE FROM audit")).ShouldNotBeNull().ShouldContain("append-only: entries cannot be deleted");
        (await provider.TryExecuteRawAsync("TRUNCATE audit")).ShouldNotBeNull().ShouldContain("append-only: entries cannot be truncated");
        (await storage.Ask<AuditQuery, AuditResult>(new AuditQuery())).Entries.Single().Allowed.ShouldBeTrue();
    }

    [Fact]
    public async Task A_batch_the_database_rejects_fails_only_its_own_publisher_and_the_rest_of_its_transaction_commits()
    {
        await using var storage = await provider.StartAsync();
        var good = Enumerable.Range(0, 30).Select(i => Batches.FromRecord(TestData.MitDbRecords[0], $"dev-{i}", "pat-1", 0)).ToList();
        // PostgreSQL text cannot hold NUL: this one fails inside a run of chunks, which is then split to find it.
        var bad = Batches.FromRecord(TestData.MitDbRecords[0], "dev-\0", "pat-1", 0);
        var publishes = good.Select(b => Task.Run(() => storage.Bus.PublishAsync(b))).ToList();
        var rejected = Task.Run(() => storage.Bus.PublishAsync(bad));

        await Should.ThrowAsync<MessageDeliveryException>(() => rejected);
        await Task.WhenAll(publishes);
        (await storage.Store.CountAsync("sample_chunks")).ShouldBe(good.Count);
    }

    [Fact]
    public async Task Postgres_without_a_connection_string_fails_at_start_with_a_clear_message()
    {
        var ex = await Should.ThrowAsync<OptionsValidationException>(() =>
            StorageHarness.StartAsync(null, settings: new Dictionary<string, string?> { ["Storage:Provider"] = "Postgres" }));
        ex.Message.ShouldContain("Storage:ConnectionString (or ConnectionStrings:Storage) is required");

        var malformed = await Should.ThrowAsync<OptionsValidationException>(() =>
            StorageHarness.StartAsync(null, settings: new Dictionary<string, string?> { ["Storage:Provider"] = "Postgres", ["Storage:ConnectionString"] = "Hots=db" }));
        malformed.Message.ShouldContain("not a valid PostgreSQL connection string");
    }

    [Fact]
    public async Task The_conventional_ConnectionStrings_Storage_is_used_when_the_section_has_none()
    {
        await using var storage = await StorageHarness.StartAsync(null, settings: new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Postgres",
            ["ConnectionStrings:Storage"] = await provider.ConnectionStringAsync(),
        });
        await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0));
        (await VersionsAsync()).ShouldBe([1]);
        (await storage.Store.CountAsync("sample_chunks")).ShouldBe(1);
    }

    private async Task<List<int>> VersionsAsync()
    {
        await using var raw = new NpgsqlConnection(await provider.ConnectionStringAsync() + ";Pooling=false");
        await raw.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version FROM schema_version ORDER BY version", raw);
        await using var reader = await command.ExecuteReaderAsync();
        var versions = new List<int>();
        while (await reader.ReadAsync())
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    private async Task ExecuteAsync(string sql)
    {
        (await provider.TryExecuteRawAsync(sql)).ShouldBeNull();
    }

    public void Dispose() => provider.Dispose();
}
