using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Infrastructure;
using Chat.Testing;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// The real server in-process, on its own fresh database of the run's private PostgreSQL. Codes "sent by SMS" are
/// captured (the one fake: SMS delivery is outside our control); everything else is real.
/// </summary>
public class ChatApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    private string connectionString = "";

    public CapturedCodes Codes { get; } = new();

    public string ConnectionString => connectionString;

    public TestLogSink Logs { get; } = new();

    /// <summary>The access-token key; nodes started as separate processes share it, as a real deployment's nodes do.</summary>
    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    /// <summary>A fixture that says so gets a real private Janus (signaling only outside a network namespace), used by the app.</summary>
    protected virtual bool WithJanus => false;

    /// <summary>The private Janus of a fixture <see cref="WithJanus"/>; null otherwise.</summary>
    public JanusServer? Janus { get; private set; }

    public virtual async Task InitializeAsync()
    {
        if (WithJanus)
        {
            Assert.True(JanusServer.Available, "janus is not installed (test.sh installs it)");
            Janus = await JanusServer.StartAsync();
        }

        var postgres = await PostgresServer.GetAsync();
        connectionString = await postgres.CreateMigratedDatabaseAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Janus is not null)
        {
            await Janus.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Lets a derived fixture put the app on a database of its own (e.g. a private PostgreSQL it restarts).</summary>
    protected void UseDatabase(string connection) => connectionString = connection;

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:Chat", connectionString);
        builder.UseSetting("Auth:SigningKey", SigningKey);
        builder.UseSetting("Site:PublicUrl", "https://school.test");
        if (Janus is not null)
        {
            builder.UseSetting("Calls:Janus:Urls:0", Janus.Url);
        }

        foreach (var (key, value) in ExtraSettings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(l => l.AddProvider(Logs));
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<ICodeSender>();
            services.AddSingleton<ICodeSender>(Codes);
        });
    }

    /// <summary>Signs a person in with a one-time code, as a client would, and returns their authorized client.</summary>
    public Task<TestUser> SignInAsync(string phone, string? displayName = null) =>
        SignInAsync(SignInIdentity.NormalizePhone(phone)!, new { phone }, code => new { phone, code, device = "tests" }, displayName);

    /// <summary>The same sign-in with an e-mail address instead of a phone.</summary>
    public Task<TestUser> SignInWithEmailAsync(string email, string? displayName = null) =>
        SignInAsync(SignInIdentity.NormalizeEmail(email)!, new { email }, code => new { email, code, device = "tests" }, displayName);

    /// <summary>A client that sends the given access token, for tests that juggle several tokens of one person.</summary>
    public HttpClient CreateClient(string accessToken)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    /// <summary>
    /// A server process on this app's database with its signing key (environment-variable names), not started: a
    /// second node beside the in-process app, with no Redis between them unless <paramref name="settings"/> give one.
    /// It listens on <paramref name="port"/> (a free one if null).
    /// </summary>
    public HubServerProcess NodeProcess(IDictionary<string, string?> settings, int? port = null)
    {
        var all = new Dictionary<string, string?>(settings)
        {
            ["ConnectionStrings__Chat"] = connectionString,
            ["Auth__SigningKey"] = SigningKey,
            ["Logging__Console__FormatterName"] = "simple",
        };
        return new HubServerProcess(all, port);
    }

    /// <summary>
    /// Starts, in this process, another host of this app with <paramref name="settings"/> (<c>Section:Key</c>) over the
    /// app's own, then stops it: a setting the server refuses makes this throw as the node's start would (a node process
    /// costs seconds of a core to start; this, a fraction of one).
    /// </summary>
    public async Task StartAndStopWithAsync(IDictionary<string, string?> settings)
    {
        await using var host = WithWebHostBuilder(builder =>
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        });
        host.StartServer();
    }

    /// <summary>Runs SQL directly against the app's database: test setup that the API deliberately does not offer.</summary>
    public async Task<int> ExecuteSqlAsync(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteAsync(sql, parameters);
    }

    private async Task<TestUser> SignInAsync(string identity, object codeBody, Func<string, object> verifyBody, string? displayName)
    {
        using var anonymous = CreateClient();
        var sent = await anonymous.PostAsJsonAsync("/api/auth/code", codeBody);
        sent.EnsureSuccessStatusCode();
        var code = Codes.Last(identity);
        var verify = await anonymous.PostAsJsonAsync("/api/auth/verify", verifyBody(code));
        await verify.EnsureOkAsync();
        var pair = (await verify.Content.ReadFromJsonAsync<TokenPair>(ChatJson.Options))!;
        var user = new TestUser(this, pair);
        if (displayName is not null)
        {
            (await user.Http.PatchAsJsonAsync("/api/me", new { displayName })).EnsureSuccessStatusCode();
        }

        return user;
    }

    /// <summary>A platform operator, made by the same code path as the <c>operator grant</c> command.</summary>
    public async Task<TestUser> OperatorAsync(string phone = "+79000000001")
    {
        var user = await SignInAsync(phone, "Оператор");
        await using var scope = Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<Chat.Storage.Accounts.AccountStore>().SetOperatorAsync(user.AccountId, true, CancellationToken.None);
        return user;
    }
}

public sealed class TestUser(ChatApp app, TokenPair pair)
{
    public TokenPair Tokens { get; set; } = pair;

    public Guid AccountId => Tokens.Account.Id;

    public HttpClient Http { get; } = CreateAuthorized(app, pair.AccessToken);

    private static HttpClient CreateAuthorized(ChatApp app, string token) => app.CreateClient(token);
}

/// <summary>The fake SMS gateway: remembers the last code sent to each phone or e-mail.</summary>
public sealed class CapturedCodes : ICodeSender
{
    private readonly ConcurrentDictionary<string, string> last = new();

    public int Sent { get; private set; }

    public Task SendAsync(SignInIdentity identity, string code, CancellationToken ct)
    {
        last[identity.Value] = code;
        Sent++;
        return Task.CompletedTask;
    }

    public string Last(string identity) => last.TryGetValue(identity, out var code) ? code : throw new InvalidOperationException($"no code sent to {identity}");
}
