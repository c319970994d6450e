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

    /// <summary>The problem details of an error response, or null when the body is not one (wrong type, no code).</summary>
    public static async Task<ChatProblem?> ReadProblemAsync(this HttpResponseMessage response)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return null;
        }

        try
        {
            var problem = System.Text.Json.JsonSerializer.Deserialize<ChatProblem>(await response.Content.ReadAsStringAsync(), ChatJson.Options);
            return string.IsNullOrEmpty(problem?.Code) ? null : problem;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>One line describing a response, for assertion messages that list many requests.</summary>
    public static async Task<string> DescribeAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        return $"{(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType} {(body.Length > 300 ? body[..300] + "…" : body)}";
    }

    /// <summary>Asserts an error response: status, stable code, and a Russian message.</summary>
    public static async Task<ChatProblem> ExpectErrorAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        var problem = System.Text.Json.JsonSerializer.Deserialize<ChatProblem>(body, ChatJson.Options)!;
        Assert.Equal(code, problem.Code);
        Assert.Equal((int)status, problem.Status);
        Assert.EndsWith("/" + code, problem.Type, StringComparison.Ordinal);
        Assert.Matches("[А-Яа-яЁё]", problem.Title);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return problem;
    }
}
