using Npgsql;

namespace Chat.Testing;

/// <summary>
/// A private PostgreSQL for the whole test run, started from the installed binaries under a temporary folder and
/// stopped when the run ends. Set <c>CHAT_TEST_POSTGRES</c> to a superuser connection string to use a server of your
/// own instead. Each test class gets its own database, cloned from a migrated template, so classes run in parallel.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    private static int databaseCounter;

    private readonly string? dataDirectory;
    private readonly string? binDirectory;
    private string startOptions = "";

    private PostgresServer(string adminConnectionString, string? dataDirectory, string? binDirectory)
    {
        AdminConnectionString = adminConnectionString;
        this.dataDirectory = dataDirectory;
        this.binDirectory = binDirectory;
    }

    public string AdminConnectionString { get; }

    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>
    /// A server of its own, for a test that stops and restarts PostgreSQL without disturbing the others. Durable (fsync
    /// and synchronous commits on, as in production) when a test crashes it and counts on what it acknowledged; the
    /// shared server trades that for speed.
    /// </summary>
    public static Task<PostgresServer> StartPrivateAsync(bool durable = false) => StartLocalAsync(durable);

    private readonly Lock templateLock = new();
    private Task<string>? template;

    /// <summary>Creates a database with every migration applied (cloned from a template migrated once per run).</summary>
    public async Task<string> CreateMigratedDatabaseAsync()
    {
        Task<string> pending;
        lock (templateLock)
        {
            pending = template ??= CreateTemplateAsync();
        }

        var name = await pending;
        return await CreateDatabaseAsync(name);
    }

    private async Task<string> CreateTemplateAsync()
    {
        var connectionString = await CreateDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await new Chat.Storage.Infrastructure.Migrator(dataSource).ApplyAsync(CancellationToken.None);
        }

        NpgsqlConnection.ClearAllPools();
        return new NpgsqlConnectionStringBuilder(connectionString).Database!;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? template = null)
    {
        // At most 52 characters, under PostgreSQL's 63 (a fixed cut to 40 failed when the process id had three digits).
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref databaseCounter)}_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"" + (template is null ? "" : $" TEMPLATE \"{template}\""), connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, MaxPoolSize = 50 }.ConnectionString;
    }

    /// <summary>Stops the server with <c>pg_ctl stop -m immediate</c> (a crash, as far as clients can tell).</summary>
    public async Task StopAsync(string mode = "fast")
    {
        if (dataDirectory is null || binDirectory is null)
        {
            return;
        }

        await NativeProcess.RunAsync(Path.Combine(binDirectory, "pg_ctl"), ["-D", Path.Combine(dataDirectory, "data"), "-m", mode, "-w", "stop"], "postgres");
    }

    public async Task RestartAsync()
    {
        if (dataDirectory is null || binDirectory is null)
        {
            throw new InvalidOperationException("Restart needs the private server.");
        }

        await NativeProcess.RunAsync(Path.Combine(binDirectory, "pg_ctl"), ["-D", Path.Combine(dataDirectory, "data"), "-l", Path.Combine(dataDirectory, "log"), "-o", startOptions, "-w", "start"], "postgres");
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var external = Environment.GetEnvironmentVariable("CHAT_TEST_POSTGRES");
        return !string.IsNullOrWhiteSpace(external) ? new PostgresServer(external, null, null) : await StartLocalAsync(durable: false);
    }

    private static async Task<PostgresServer> StartLocalAsync(bool durable)
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed. Run ./test.sh (it installs it), or apt-get install postgresql, or set CHAT_TEST_POSTGRES.");
        await CleanUpAfterDeadRunsAsync(bin);
        var dir = Path.Combine(Path.GetTempPath(), $"chat-tests-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        Directory.CreateDirectory(dir);
        if (NativeProcess.IsRoot)
        {
            await NativeProcess.RunAsync("chown", ["postgres:postgres", dir]);
        }

        var port = NativeProcess.FreePort();
        var data = Path.Combine(dir, "data");
        await NativeProcess.RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], "postgres");
        var speed = durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -k {dir}{speed} -c max_connections=500 -c shared_buffers=128MB";
        await NativeProcess.RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(dir, "log"), "-o", options, "-w", "start"], "postgres");
        var server = new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=true", dir, bin) { startOptions = options };

        // The run's end stops the server and removes its folder; a crashed run leaves only a temp folder behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                server.StopAsync("immediate").GetAwaiter().GetResult();
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // Best effort at exit.
            }
        };
        return server;
    }

    /// <summary>
    /// A test run that was killed (not ended) cannot stop its server; the next run does it: every folder of a run whose
    /// process is gone has its server stopped and is removed.
    /// </summary>
    private static async Task CleanUpAfterDeadRunsAsync(string bin)
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), "chat-tests-pg-*"))
        {
            var parts = Path.GetFileName(dir).Split('-');
            if (parts.Length < 4 || !int.TryParse(parts[3], out var pid) || pid == Environment.ProcessId || IsAlive(pid))
            {
                continue;
            }

            try
            {
                if (File.Exists(Path.Combine(dir, "data", "postmaster.pid")))
                {
                    await NativeProcess.RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(dir, "data"), "-m", "immediate", "-w", "stop"], "postgres");
                }
            }
            catch (InvalidOperationException)
            {
                // Not running any more.
            }

            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.GetDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            .FirstOrDefault();
    }
}
