using System.Net;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>Test plan 25: the hub checks the Origin of browser requests; CORS is an explicit list.</summary>
public sealed class OriginTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task HubRequest_FromAnotherSite_Refused_FromOwnSiteOrNoOrigin_Allowed()
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone(), "Пользователь");

        async Task<HttpResponseMessage> NegotiateAsync(string? origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/chat/negotiate?negotiateVersion=1");
            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            return await user.Http.SendAsync(request);
        }

        await (await NegotiateAsync("https://evil.example")).ExpectErrorAsync(HttpStatusCode.Forbidden, "origin_not_allowed");
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync("https://school.test")).StatusCode); // Site:PublicUrl
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync(null)).StatusCode);

        // CORS: no Access-Control-Allow-Origin for a site that is not on the list.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/me");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        var response = await user.Http.SendAsync(preflight);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
