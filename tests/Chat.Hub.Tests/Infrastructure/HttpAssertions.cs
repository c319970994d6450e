using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Tests.Infrastructure;

public static class HttpAssertions
{
    public static async Task EnsureOkAsync(this HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new Xunit.Sdk.XunitException($"{(int)response.StatusCode} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response)
    {
        await response.EnsureOkAsync();
        return (await response.Content.ReadFromJsonAsync<T>(ChatJson.Options))!;
    }

    /// <summary>Asserts an error response: status, stable code, and a Russian message.</summary>
    public static async Task<ChatProblem> ExpectErrorAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        var problem = System.Text.Json.JsonSerializer.Deserialize<ChatProblem>(body, ChatJson.Options)!;
        Assert.Equal(code, problem.Code);
        Assert.Matches("[А-Яа-яЁё]", problem.Title);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return problem;
    }
}
