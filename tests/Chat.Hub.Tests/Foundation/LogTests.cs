using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// Secrets never reach the logs (test plan item 26): SignalR clients in browsers pass the access token in the query
/// string, which request logging would print. The server runs with its shipped logging configuration.
/// </summary>
public sealed class LogTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task Logs_AfterSignInRefreshAndHubConnections_ContainNoTokensCodesPhonesOrEmails()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);

        // Sign in by hand, so that the code, a wrong code and both token pairs are known.
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        await (await http.PostAsJsonAsync("/api/auth/code", new { phone })).EnsureOkAsync();
        var code = app.Codes.Last(phone);
        var wrongCode = code == "000000" ? "111111" : "000000";
        await (await http.PostAsJsonAsync("/api/auth/verify", new { phone, code = wrongCode })).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_invalid");
        var first = await (await http.PostAsJsonAsync("/api/auth/verify", new { phone, code, device = "tests" })).ReadAsync<TokenPair>();
        var second = await (await http.PostAsJsonAsync("/api/auth/refresh", new { first.RefreshToken })).ReadAsync<TokenPair>();
        using var user = app.CreateClient(second.AccessToken);
        await (await user.PostAsJsonAsync($"/api/invites/{invite.Token}/accept", new { })).EnsureOkAsync();

        // The hub over long polling: once with the token from AccessTokenProvider, once with it in the URL, as browsers do.
        await PingHubAsync(second.AccessToken, tokenInQuery: false);
        await PingHubAsync(second.AccessToken, tokenInQuery: true);

        // Rejected tokens in the query string: a garbage one, and one of a session that was signed out.
        const string garbage = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtcmVhbC1zaWduYXR1cmUtYXQtYWxs";
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"/hubs/chat/negotiate?negotiateVersion=1&access_token={garbage}", null)).StatusCode);
        var other = await app.SignInAsync(SchoolBuilder.NewPhone());
        await (await other.Http.PostAsync("/api/auth/sign-out", null)).EnsureOkAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"/hubs/chat/negotiate?negotiateVersion=1&access_token={other.Tokens.AccessToken}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/hubs/chat?id=unknown&access_token={other.Tokens.AccessToken}")).StatusCode);

        // Phone numbers and e-mails: a sign-in by e-mail, a school registered for an admin named by e-mail, a teacher invited.
        const string email = "Ivanova.Teacher@Example.ru";
        var byEmail = await app.SignInWithEmailAsync(email, "Учитель по почте");
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        const string adminEmail = "director.school77@example.ru";
        await (await op.Http.PostAsJsonAsync("/api/platform/schools", new { name = "Школа №77", region = "Москва", address = "ул. Лесная, 3", adminEmail })).EnsureOkAsync();
        await (await byEmail.Http.GetAsync("/api/me")).EnsureOkAsync();

        var lines = app.Logs.Lines.ToList();
        Assert.NotEmpty(lines);
        foreach (var (name, personal) in new[] { ("phone", phone), ("phone digits", phone.TrimStart('+')), ("e-mail", email), ("e-mail, lower case", email.ToLowerInvariant()), ("admin e-mail", adminEmail) })
        {
            Assert.False(lines.Any(l => l.Contains(personal, StringComparison.OrdinalIgnoreCase)), $"the logs contain the {name}: " + string.Join("\n", lines.Where(l => l.Contains(personal, StringComparison.OrdinalIgnoreCase))));
        }

        var log = string.Join("\n", lines);
        var secrets = new Dictionary<string, string>
        {
            ["access token"] = first.AccessToken,
            ["refreshed access token"] = second.AccessToken,
            ["access token signature"] = second.AccessToken[(second.AccessToken.LastIndexOf('.') + 1)..],
            ["signed-out access token"] = other.Tokens.AccessToken,
            ["garbage token"] = garbage,
            ["refresh token"] = first.RefreshToken,
            ["rotated refresh token"] = second.RefreshToken,
            ["signed-out refresh token"] = other.Tokens.RefreshToken,
            ["invite token"] = invite.Token,
        };
        foreach (var (name, secret) in secrets)
        {
            Assert.False(log.Contains(secret, StringComparison.Ordinal), $"the logs contain the {name}: " + string.Join("\n", lines.Where(l => l.Contains(secret, StringComparison.Ordinal))));
        }

        // Codes are six digits: look for them as whole numbers, not inside longer digit runs.
        foreach (var digits in new[] { code, wrongCode })
        {
            Assert.DoesNotMatch(new Regex($"(?<![0-9]){digits}(?![0-9])"), log);
        }
    }

    private async Task PingHubAsync(string accessToken, bool tokenInQuery)
    {
        var url = new Uri(app.Server.BaseAddress, tokenInQuery ? $"/hubs/chat?access_token={Uri.EscapeDataString(accessToken)}" : "/hubs/chat");
        await using var connection = new HubConnectionBuilder()
            .WithUrl(url, o =>
            {
                o.HttpMessageHandlerFactory = _ => app.Server.CreateHandler();
                o.Transports = HttpTransportType.LongPolling;
                if (!tokenInQuery)
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(accessToken);
                }
            })
            .Build();
        await connection.StartAsync();
        var pong = await connection.InvokeAsync<DateTimeOffset>("Ping");
        Assert.NotEqual(default, pong);
        await connection.StopAsync();
    }
}
