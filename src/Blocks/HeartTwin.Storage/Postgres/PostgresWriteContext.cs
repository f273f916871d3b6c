using Npgsql;

namespace HeartTwin.Storage.Postgres;

/// <summary>The writer's connection and open transaction as one write operation sees them; values travel as $1, $2 … parameters.</summary>
internal sealed class PostgresWriteContext(NpgsqlConnection connection, NpgsqlTransaction transaction)
{
    /// <summary>Runs a statement; returns the rows it changed.</summary>
    public async Task<int> ExecuteAsync(string sql, CancellationToken ct, params object?[] args)
    {
        await using var command = Command(sql, args);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Runs a statement and returns the first column of its first row (null when none).</summary>
    public async Task<object?> ScalarAsync(string sql, CancellationToken ct, params object?[] args)
    {
        await using var command = Command(sql, args);
        var value = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is DBNull ? null : value;
    }

    /// <summary>
    /// Runs statements in order in one round trip (a pipelined batch), as if one after the other; returns the rows changed in all.
    /// So a message of many beats costs one round trip, with exactly the semantics of running its statements one by one.
    /// </summary>
    public async Task<int> ExecuteBatchAsync(IReadOnlyCollection<(string Sql, object?[] Args)> statements, CancellationToken ct)
    {
        if (statements.Count == 0)
        {
            return 0;
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var (sql, args) in statements)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var arg in args)
            {
                command.Parameters.Add(Parameter(arg));
            }

            batch.BatchCommands.Add(command);
        }

        return await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A command on the transaction (the caller reads it and disposes it).</summary>
    public NpgsqlCommand Command(string sql, params object?[] args)
    {
#pragma warning disable CA2100 // Statements are constants of this block; values always travel as parameters.
        var command = new NpgsqlCommand(sql, connection, transaction);
#pragma warning restore CA2100
        foreach (var arg in args)
        {
            command.Parameters.Add(Parameter(arg));
        }

        return command;
    }

    private static NpgsqlParameter Parameter(object? value) => new() { Value = value ?? DBNull.Value };
}
