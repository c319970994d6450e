using Chat.Storage.Infrastructure;
using Chat.Testing;
using Dapper;
using Npgsql;

namespace Chat.Storage.Tests;

/// <summary>The migrator against a real, empty PostgreSQL database.</summary>
public sealed class MigratorTests
{
    private static readonly string[] FoundationTables =
    [
        "accounts", "sign_in_codes", "sessions", "schools", "pending_admins", "classes", "school_members",
        "students", "class_teachers", "parent_links", "invites", "join_requests", "audit_events",
    ];

    [Fact]
    public async Task ApplyAsync_EmptyDatabase_AppliesEveryScriptThenNothing()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var migrator = new Migrator(dataSource);
        Assert.Contains(Migrator.Scripts, s => s.Name == "0001_foundation");

        var first = await migrator.ApplyAsync(CancellationToken.None);
        var second = await migrator.ApplyAsync(CancellationToken.None);

        Assert.Equal(Migrator.Scripts.Select(s => s.Name), first);
        Assert.Empty(second);
        await using var connection = await dataSource.OpenConnectionAsync();
        var recorded = (await connection.QueryAsync<string>("SELECT name FROM schema_migrations ORDER BY name")).ToList();
        Assert.Equal(Migrator.Scripts.Select(s => s.Name), recorded);
        var tables = (await connection.QueryAsync<string>("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")).ToHashSet();
        Assert.All(FoundationTables, t => Assert.Contains(t, tables));
    }

    [Fact]
    public async Task ApplyAsync_TwoNodesAtOnce_ApplyEachScriptExactlyOnce()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());

        var results = await Task.WhenAll(
            new Migrator(dataSource).ApplyAsync(CancellationToken.None),
            new Migrator(dataSource).ApplyAsync(CancellationToken.None));

        // The advisory lock lets one node apply everything; the other finds nothing left to do.
        Assert.Equal(Migrator.Scripts.Select(s => s.Name), results.SelectMany(r => r).Order(StringComparer.Ordinal));
        Assert.Contains(results, r => r.Count == 0);
    }

    [Fact]
    public async Task StatementByStatementMigration_BuildsItsIndexConcurrently_AndCanRunAgain()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new Migrator(dataSource).ApplyAsync(CancellationToken.None);

        var (_, sql) = Migrator.Scripts.Single(s => s.Name == "0013_message_sender_index");
        Assert.StartsWith(Migrator.EachStatementOnItsOwn, sql, StringComparison.Ordinal);
        var statements = Migrator.Statements(sql);
        Assert.Equal(3, statements.Count);
        Assert.All(statements, st => Assert.Contains("CONCURRENTLY", st, StringComparison.Ordinal));

        // The index is there and valid, the one it replaced is gone; every statement can run again (an interrupted
        // migration is not recorded and starts over) and leaves the same result.
        await using var connection = await dataSource.OpenConnectionAsync();
        const string indexes = "SELECT c.relname::text || ':' || i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('messages_sender', 'messages_sender_time')";
        Assert.Equal(["messages_sender_time:true"], await connection.QueryAsync<string>(indexes));
        foreach (var statement in statements)
        {
            await connection.ExecuteAsync(statement);
        }

        Assert.Equal(["messages_sender_time:true"], await connection.QueryAsync<string>(indexes));
    }

    [Fact]
    public void Statements_SplitAtSemicolonsAtLineEnds_SkipComments_RefuseAnUnfinishedOne()
    {
        var sql = Migrator.EachStatementOnItsOwn + "\r\n-- why\r\nDROP INDEX CONCURRENTLY IF EXISTS a;\n\nCREATE INDEX CONCURRENTLY b\n  ON t (x);   \n-- end\n";
        Assert.Equal(["DROP INDEX CONCURRENTLY IF EXISTS a;", "CREATE INDEX CONCURRENTLY b" + Environment.NewLine + "  ON t (x);"], Migrator.Statements(sql));
        Assert.Throws<InvalidOperationException>(() => Migrator.Statements("CREATE INDEX CONCURRENTLY b ON t (x)"));
    }

    [Fact]
    public void Scripts_AreNumberedAndInOrder()
    {
        var names = Migrator.Scripts.Select(s => s.Name).ToList();
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.Matches(@"^\d{4}_[a-z0-9_]+$", n));
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Equal(names.Count, names.Select(n => n[..4]).Distinct().Count());
    }
}
