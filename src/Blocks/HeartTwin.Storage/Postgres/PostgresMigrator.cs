using Npgsql;

namespace HeartTwin.Storage.Postgres;

/// <summary>
/// Applies <see cref="PostgresSchema.Migrations"/> that <c>schema_version</c> does not list yet, each in its own transaction with
/// its version row. Replicas that start at once queue on a session advisory lock, so each migration runs exactly once; running
/// again is a no-op (idempotent).
/// </summary>
internal static class PostgresMigrator
{
    /// <summary>Brings the schema up to date; returns its version.</summary>
    /// <exception cref="InvalidOperationException">The database is newer than this build.</exception>
    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "SELECT pg_advisory_lock($1)", ct, PostgresSchema.MigrationLockKey).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, null, PostgresSchema.CreateVersionTable, ct).ConfigureAwait(false);
            await using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection);
            int version = Convert.ToInt32(await read.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (version > PostgresSchema.Migrations.Count)
            {
                throw new InvalidOperationException(
                    $"The database has schema version {version}, newer than this build knows ({PostgresSchema.Migrations.Count}); run the newer build or another database.");
            }

            for (int v = version; v < PostgresSchema.Migrations.Count; v++)
            {
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, PostgresSchema.Migrations[v], ct).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "INSERT INTO schema_version (version) VALUES ($1)", ct, v + 1).ConfigureAwait(false);
                await transaction.CommitAsync(ct).ConfigureAwait(false);
            }

            return PostgresSchema.Migrations.Count;
        }
        finally
        {
            // Closing the connection would release the lock too; unlocking keeps the pooled connection clean.
            if (connection.FullState == System.Data.ConnectionState.Open)
            {
                await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock($1)", CancellationToken.None, PostgresSchema.MigrationLockKey).ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct, params object[] args)
    {
#pragma warning disable CA2100 // Migrations and lock statements are constants of this block.
        await using var command = new NpgsqlCommand(sql, connection, transaction);
#pragma warning restore CA2100
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
