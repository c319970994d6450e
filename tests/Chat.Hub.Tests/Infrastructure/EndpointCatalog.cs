using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>One HTTP method of one route of the running app, as the router sees it.</summary>
public sealed record ApiEndpoint(string Method, string Pattern, RoutePattern Route)
{
    /// <summary>"METHOD /pattern", the name allow-lists use, e.g. <c>GET /api/schools/{schoolId:guid}/classes</c>.</summary>
    public string Key => $"{Method} {Pattern}";

    public bool HasParameter(string name) => Route.Parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The concrete path with every route parameter filled in; fails on a parameter the caller has no value for.</summary>
    public string Path(IReadOnlyDictionary<string, string> values)
    {
        var path = new StringBuilder();
        foreach (var segment in Route.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    RoutePatternLiteralPart literal => literal.Content,
                    RoutePatternSeparatorPart separator => separator.Content,
                    RoutePatternParameterPart parameter => values.TryGetValue(parameter.Name, out var value)
                        ? Uri.EscapeDataString(value)
                        : throw new Xunit.Sdk.XunitException($"{Key}: no test value for route parameter {{{parameter.Name}}}; add one to the walk"),
                    _ => throw new Xunit.Sdk.XunitException($"{Key}: unknown route part {part.GetType().Name}"),
                });
            }
        }

        return path.Length == 0 ? "/" : path.ToString();
    }

    /// <summary>A request to this endpoint; methods that carry a body get an empty JSON object.</summary>
    public HttpRequestMessage Request(IReadOnlyDictionary<string, string> values)
    {
        var request = new HttpRequestMessage(new HttpMethod(Method), Path(values));
        if (Method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return request;
    }
}

public static class EndpointCatalog
{
    /// <summary>
    /// Every endpoint the app maps, one entry per HTTP method. Endpoints mapped without a method (health checks, the
    /// SignalR hub) are listed once as GET.
    /// </summary>
    public static IReadOnlyList<ApiEndpoint> All(IServiceProvider services)
    {
        var endpoints = new List<ApiEndpoint>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<ISuppressMatchingMetadata>()?.SuppressMatching == true)
            {
                continue;
            }

            var raw = endpoint.RoutePattern.RawText ?? throw new Xunit.Sdk.XunitException($"{endpoint.DisplayName} has no route text");
            var pattern = raw.Length > 1 ? raw.TrimEnd('/') : raw;
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            foreach (var method in methods is { Count: > 0 } ? methods : ["GET"])
            {
                endpoints.Add(new ApiEndpoint(method, pattern, endpoint.RoutePattern));
            }
        }

        return endpoints.DistinctBy(e => e.Key).OrderBy(e => e.Pattern, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal).ToList();
    }
}
