using Microsoft.Data.Sqlite;
using Npgsql;

namespace HeartTwin.Storage.Tests;

/// <summary>
/// One store location of one provider, for one test: every <see cref="StartAsync"/> opens the same database again (so a test
/// can reopen it), and the raw helpers reach the database behind the store's back, as an attacker or a broken disk would.
/// </summary>
public abstract class StoreProvider : IDisposable
{
    /// <summary>Starts a Storage host on this test's database.</summary>
    internal abstract Task<StorageHarness> StartAsync(TimeProvider? time = null, IDictionary<string, string?>? settings = null);

    /// <summary>Flips one bit in the middle of the first stored chunk.</summary>
    public abstract Task CorruptFirstChunkAsync();

    /// <summary>Runs a statement directly on the database; returns the error message it failed with, or null if it succeeded.</summary>
    public abstract Task<string?> TryExecuteRawAsync(string sql);

    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>SQLite in a temporary data folder.</summary>
public sealed class SqliteProvider : StoreProvider
{
    private readonly TempDir dir = new();

    public string DataDirectory => dir.Path;

    public string DatabasePath => Path.Combine(dir.Path, "hearttwin.db");

    internal override Task<StorageHarness> StartAsync(TimeProvider? time = null, IDictionary<string, string?>? settings = null) =>
        StorageHarness.StartAsync(dir.Path, time, settings);

    public override async Task CorruptFirstChunkAsync()
    {
        await using var raw = new SqliteConnection($"Data Source={DatabasePath};Pooling=false");
        await raw.OpenAsync();
        using var read = raw.CreateCommand();
        read.CommandText = "SELECT data FROM sample_chunks";
        var blob = (byte[])(await read.ExecuteScalarAsync())!;
        blob[blob.Length / 2] ^= 0x10; // one bit, in the middle of the residuals
        using var flip = raw.CreateCommand();
        flip.CommandText = "UPDATE sample_chunks SET data = $data";
        flip.Parameters.AddWithValue("$data", blob);
        await flip.ExecuteNonQueryAsync();
    }

    public override async Task<string?> TryExecuteRawAsync(string sql)
    {
        await using var raw = new SqliteConnection($"Data Source={DatabasePath};Pooling=false");
        await raw.OpenAsync();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        try
        {
            await command.ExecuteNonQueryAsync();
            return null;
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
    }

    public override void Dispose()
    {
        dir.Dispose();
        base.Dispose();
    }
}

/// <summary>A fresh database on the tests' own PostgreSQL server.</summary>
public sealed class PostgresProvider(PostgresServer server) : StoreProvider
{
    private string? connectionString;

    public PostgresServer Server => server;

    public async Task<string> ConnectionStringAsync() => connectionString ??= await server.CreateDatabaseAsync();

    internal override async Task<StorageHarness> StartAsync(TimeProvider? time = null, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Postgres",
            ["Storage:ConnectionString"] = await ConnectionStringAsync(),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return await StorageHarness.StartAsync(null, time, all);
    }

    public override async Task CorruptFirstChunkAsync()
    {
        await using var raw = new NpgsqlConnection(await ConnectionStringAsync() + ";Pooling=false");
        await raw.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT data FROM sample_chunks", raw);
        var blob = (byte[])(await read.ExecuteScalarAsync())!;
        blob[blob.Length / 2] ^= 0x10; // one bit, in the middle of the residuals
        await using var flip = new NpgsqlCommand("UPDATE sample_chunks SET data = $1", raw) { Parameters = { new NpgsqlParameter { Value = blob } } };
        await flip.ExecuteNonQueryAsync();
    }

    public override async Task<string?> TryExecuteRawAsync(string sql)
    {
        await using var raw = new NpgsqlConnection(await ConnectionStringAsync() + ";Pooling=false");
        await raw.OpenAsync();
#pragma warning disable CA2100 // Test statements, constants of the tests.
        await using var command = new NpgsqlCommand(sql, raw);
#pragma warning restore CA2100
        try
        {
            await command.ExecuteNonQueryAsync();
            return null;
        }
        catch (PostgresException ex)
        {
            return ex.Message;
        }
    }
}
