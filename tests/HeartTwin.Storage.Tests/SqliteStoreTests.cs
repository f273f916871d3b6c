using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HeartTwin.Storage.Tests;

/// <summary>The store contract on SQLite, plus what only SQLite has (a data folder, WAL, PRAGMA user_version).</summary>
public sealed class SqliteStoreTests() : StoreContractTests(new SqliteProvider())
{
    private SqliteProvider Sqlite => (SqliteProvider)Provider;

    [Fact]
    public async Task A_host_without_a_data_directory_fails_at_start_with_a_clear_message()
    {
        var ex = await Should.ThrowAsync<OptionsValidationException>(() => StorageHarness.StartAsync(null));
        ex.Message.ShouldContain("Storage:DataDirectory");
    }

    [Fact]
    public async Task Reopening_leaves_one_database_file_in_the_data_folder()
    {
        await using (var storage = await Sqlite.StartAsync())
        {
            await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0));
        }

        File.Exists(Sqlite.DatabasePath).ShouldBeTrue();
        File.Exists(Sqlite.DatabasePath + "-wal").ShouldBeFalse();
    }

    [Fact]
    public async Task Synchronous_full_is_applied_and_the_database_is_in_WAL_mode()
    {
        await using var storage = await Sqlite.StartAsync(settings: new Dictionary<string, string?> { ["Storage:Synchronous"] = "Full" });
        await storage.Bus.PublishAsync(Batches.FromRecord(TestData.MitDbRecords[0], "dev-1", "pat-1", 0));
        await using var raw = new SqliteConnection($"Data Source={Sqlite.DatabasePath};Pooling=false");
        await raw.OpenAsync();
        using var mode = raw.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode";
        (await mode.ExecuteScalarAsync()).ShouldBe("wal");
        using var version = raw.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        (await version.ExecuteScalarAsync()).ShouldBe(1L);
    }
}
