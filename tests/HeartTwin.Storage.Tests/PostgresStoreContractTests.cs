namespace HeartTwin.Storage.Tests;

/// <summary>The store contract on a real PostgreSQL 15 (each test on a fresh database of the tests' own server).</summary>
[Collection(PostgresGroup.Name)]
public sealed class PostgresStoreContractTests(PostgresServer server) : StoreContractTests(new PostgresProvider(server));
