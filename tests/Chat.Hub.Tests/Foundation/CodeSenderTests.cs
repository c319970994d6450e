using System.Net;
using System.Net.Sockets;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// The production code sender against a gateway that fails: the person gets <c>code_delivery_failed</c> (503, a Russian
/// «try again»), not a 500. The gateway here is a real local HTTP listener (the one fake the tests allow is the SMS
/// gateway itself).
/// </summary>
public sealed class CodeSenderTests
{
    private static readonly SignInIdentity Phone = new("phone", "+79001234567");

    [Theory]
    [InlineData(500)]
    [InlineData(403)]
    public async Task GatewayAnswersAnError_CodeDeliveryFailed(int status)
    {
        var port = FreePort();
        using var gateway = new HttpListener();
        gateway.Prefixes.Add($"http://127.0.0.1:{port}/");
        gateway.Start();
        var answered = Task.Run(async () =>
        {
            var context = await gateway.GetContextAsync();
            context.Response.StatusCode = status;
            context.Response.Close();
        });

        var error = await Assert.ThrowsAsync<ChatException>(() => Sender($"http://127.0.0.1:{port}/sms").SendAsync(Phone, "123456", default));
        Assert.Equal(("code_delivery_failed", 503), (error.Error.Code, error.Error.Status));
        await answered;
    }

    [Fact]
    public async Task GatewayUnreachable_CodeDeliveryFailed()
    {
        var error = await Assert.ThrowsAsync<ChatException>(() => Sender($"http://127.0.0.1:{FreePort()}/sms").SendAsync(Phone, "123456", default));
        Assert.Equal("code_delivery_failed", error.Error.Code);
    }

    private static WebhookCodeSender Sender(string url) =>
        new(new HttpClient(), Options.Create(new CodeDeliveryOptions { Sender = "webhook", WebhookUrl = url }), NullLogger<WebhookCodeSender>.Instance);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
