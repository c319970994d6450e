using System.Net;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Calls;

/// <summary>The server serves the call page and the SignalR browser client built from npm.</summary>
public sealed class CallPageTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Theory]
    [InlineData("/call.html", "text/html", "call.js")]
    [InlineData("/call.js", "javascript", "JoinCall")]
    [InlineData("/lib/signalr.min.js", "javascript", "HubConnectionBuilder")]
    public async Task CallPage_IsServedWithoutSignIn(string path, string type, string contains)
    {
        using var http = app.CreateClient();
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(type, response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(contains, body, StringComparison.Ordinal);
        Assert.DoesNotContain("cdn", body.Length > 5000 ? body[..5000] : body, StringComparison.OrdinalIgnoreCase);
    }
}
