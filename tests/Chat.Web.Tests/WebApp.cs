using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Chat.Hub.Features.Accounts;
using Chat.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Playwright;

namespace Chat.Web.Tests;

/// <summary>
/// The real server on a real port (Kestrel on 127.0.0.1, its own database of the run's private PostgreSQL) and one
/// headless Debian Chromium for all tests of a class. Codes "sent by SMS" are captured; nothing else is faked.
/// </summary>
public sealed class WebApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    /// <summary>
    /// A fake microphone and camera (a beep and a test pattern), allowed without a prompt. Only in <see cref="MediaBrowserAsync"/>:
    /// in the shared browser pages see no devices (the call page's tests expect that).
    /// </summary>
    private static readonly string[] FakeMediaArgs = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];

    private IBrowser? mediaBrowser;

    private string connectionString = "";
    private IPlaywright? playwright;

    public CapturedCodes Codes { get; } = new();

    public string BaseUrl { get; private set; } = "";

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var postgres = await PostgresServer.GetAsync();
        connectionString = await postgres.CreateMigratedDatabaseAsync();
        UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        StartServer();
        BaseUrl = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        playwright = await Playwright.CreateAsync();
        Browser = await LaunchAsync(ChromiumArgs);
    }

    /// <summary>A second Chromium with a fake microphone and camera, launched when a test first asks for it.</summary>
    public async Task<IBrowser> MediaBrowserAsync() => mediaBrowser ??= await LaunchAsync([.. ChromiumArgs, .. FakeMediaArgs]);

    private Task<IBrowser> LaunchAsync(string[] args) => playwright!.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = args,
    });

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        if (mediaBrowser is not null)
        {
            await mediaBrowser.CloseAsync();
        }

        playwright?.Dispose();
        await DisposeAsync();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:Chat", connectionString);
        builder.UseSetting("Auth:SigningKey", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        builder.UseSetting("Site:PublicUrl", "http://127.0.0.1");
        builder.UseSetting("Auth:CodeSendsPerClientPerHour", "10000");
        builder.UseSetting("Limits:MessageBurst", "1000");
        builder.UseSetting("Limits:MessagesPerSecond", "1000");
        // Reminders of planned calls a minute ahead, looked for four times a second: a test moves a plan's start
        // (ExecuteSqlAsync) to get "soon" and then "now" at once. Plans of other tests start minutes later: no reminder.
        builder.UseSetting("Calls:Reminders:Lead", "00:01:00");
        builder.UseSetting("Calls:Reminders:Poll", "00:00:00.250");
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<ICodeSender>();
            services.AddSingleton<ICodeSender>(Codes);
        });
    }

    /// <summary>Runs SQL directly against the server's database: test setup that the API deliberately does not offer.</summary>
    public async Task<int> ExecuteSqlAsync(string sql, object? parameters = null)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        return await Dapper.SqlMapper.ExecuteAsync(connection, sql, parameters);
    }

    /// <summary>Holds the chat's row locked until disposed (<see cref="Chat.Testing.ChatRowHold"/>).</summary>
    public Task<Chat.Testing.ChatRowHold> HoldChatAsync(Guid chatId) => Chat.Testing.ChatRowHold.HoldAsync(connectionString, chatId);

    /// <summary>An API client on the real port, as the browser sees the server.</summary>
    public HttpClient Http(string? accessToken = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client;
    }

    /// <summary>Signs a person in through the API (for setting a scene up) and names them; device labels the session.</summary>
    public async Task<ApiUser> SignInAsync(string phone, string name, string? device = null)
    {
        using var anonymous = Http();
        (await anonymous.PostAsJsonAsync("/api/auth/code", new { phone })).EnsureSuccessStatusCode();
        var code = Codes.Last(SignInIdentity.NormalizePhone(phone)!);
        var verify = await anonymous.PostAsJsonAsync("/api/auth/verify", new { phone, code, device });
        verify.EnsureSuccessStatusCode();
        var pair = await verify.Content.ReadFromJsonAsync<JsonElement>();
        var user = new ApiUser(Http(pair.GetProperty("accessToken").GetString()), pair.GetProperty("account").GetProperty("id").GetGuid(), phone);
        (await user.Http.PatchAsJsonAsync("/api/me", new { displayName = name })).EnsureSuccessStatusCode();
        return user;
    }
}

public sealed record ApiUser(HttpClient Http, Guid Id, string Phone);

/// <summary>The fake SMS gateway: remembers the last code sent to each phone or e-mail.</summary>
public sealed class CapturedCodes : ICodeSender
{
    private readonly ConcurrentDictionary<string, string> last = new();

    public Task SendAsync(SignInIdentity identity, string code, CancellationToken ct)
    {
        last[identity.Value] = code;
        return Task.CompletedTask;
    }

    public string Last(string identity) => last.TryGetValue(identity, out var code) ? code : throw new InvalidOperationException($"no code sent to {identity}");
}
