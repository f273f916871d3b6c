using Microsoft.Data.Sqlite;

namespace HeartTwin.Storage.Sqlite;

/// <summary>The writer connection as write operations see it: prepared statements cached by their SQL text.</summary>
internal sealed class WriteContext(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection => connection;

    /// <summary>Runs a statement with positional parameters $1, $2 …; returns the rows changed.</summary>
    public int Execute(string sql, params ReadOnlySpan<object?> args) => Prepare(sql, args).ExecuteNonQuery();

    /// <summary>Runs a statement and returns its first column of the first row.</summary>
    public object? Scalar(string sql, params ReadOnlySpan<object?> args) => Prepare(sql, args).ExecuteScalar();

    private SqliteCommand Prepare(string sql, ReadOnlySpan<object?> args)
    {
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
#pragma warning disable CA2100 // Statements are constants of this block; values always travel as parameters.
            command.CommandText = sql;
#pragma warning restore CA2100
            for (int i = 0; i < args.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), null));
            }

            command.Prepare();
            commands[sql] = command;
        }

        for (int i = 0; i < args.Length; i++)
        {
            command.Parameters[i].Value = args[i] ?? DBNull.Value;
        }

        return command;
    }

    public void Dispose()
    {
        foreach (var command in commands.Values)
        {
            command.Dispose();
        }

        commands.Clear();
    }
}
