using System.Net;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// Walks every endpoint the app maps (test plan item 20): anonymous callers get 401 everywhere but the public
/// endpoints, and the admin of another school gets 403 or 404 from everything that names a school. Each endpoint must
/// be public, name a school, or be listed below with a reason, so that a new endpoint cannot be forgotten.
/// </summary>
public sealed class EndpointWalkTests(ChatApp app) : IClassFixture<ChatApp>
{
    /// <summary>Endpoints anyone may call without signing in.</summary>
    private static readonly Dictionary<string, string> Public = new(StringComparer.Ordinal)
    {
        ["GET /health/live"] = "liveness probe for the orchestrator; says nothing but 'alive'",
        ["GET /health/ready"] = "readiness probe for the load balancer; names only the dependencies' states",
        ["POST /api/auth/code"] = "the first step of signing in; answers the same for known and unknown people",
        ["POST /api/auth/verify"] = "the second step of signing in; the code is the credential",
        ["POST /api/auth/refresh"] = "the refresh token in the body is the credential",
        ["GET /openapi/{documentName}.json"] = "the API description holds no data",
        ["GET /api/files/{fileId:guid}/stream"] = "a signed, short-lived link is the credential, and it authorizes again: the session live, the reader allowed the file (FileExchangeTests.StreamLink_…)",
    };

    /// <summary>Endpoints without a {schoolId}: why the cross-school walk does not apply to them.</summary>
    private static readonly Dictionary<string, string> WithoutSchool = new(StringComparer.Ordinal)
    {
        ["POST /api/auth/sign-out"] = "ends the caller's own session",
        ["POST /api/auth/sign-out-everywhere"] = "ends the caller's own sessions",
        ["GET /api/me"] = "the caller's own account",
        ["PATCH /api/me"] = "the caller's own profile",
        ["GET /api/me/sessions"] = "the caller's own sessions",
        ["DELETE /api/me/sessions/{sessionId:guid}"] = "only the caller's own sessions; another account's session id is 404 (checked below)",
        ["GET /api/me/schools"] = "the schools the caller is a member of",
        ["GET /api/me/join-requests"] = "the caller's own join requests",
        ["POST /api/me/delete"] = "deletes the caller's own account (LifecycleStoryTests)",
        ["GET /api/me/export"] = "the caller's own data",
        ["GET /api/platform/schools"] = "platform operator only (operator_only, StructureTests)",
        ["POST /api/platform/schools"] = "platform operator only (operator_only, StructureTests)",
        ["GET /api/invites/{token}"] = "the unguessable token is the permission to preview; InviteTests",
        ["POST /api/invites/{token}/accept"] = "the unguessable token is the permission to join; it joins only its own school (InviteTests)",
        ["GET /api/chats"] = "lists only the caller's own chats (optionally filtered by a school of theirs)",
        ["GET /api/search"] = "searches only the chats the caller belongs to (Messaging search tests)",
        ["GET /hubs/chat/negotiate"] = "the hub connection; hub methods check membership themselves",
        ["GET /hubs/chat"] = "the hub connection; hub methods check membership themselves",
    };

    [Fact]
    public async Task Walk_Anonymous_EveryNonPublicEndpointReturns401()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Школа А");
        var values = await school.RouteValuesAsync();
        using var anonymous = app.CreateClient();
        var endpoints = EndpointCatalog.All(app.Services);
        Assert.True(endpoints.Count >= 40, $"only {endpoints.Count} endpoints found");

        var wrong = new List<string>();
        foreach (var endpoint in endpoints)
        {
            using var request = endpoint.Request(values);
            using var response = await anonymous.SendAsync(request);
            if (IsPublic(endpoint))
            {
                if (response.StatusCode is HttpStatusCode.Unauthorized or >= HttpStatusCode.InternalServerError)
                {
                    wrong.Add($"{endpoint.Key} is public but answered {await response.DescribeAsync()}");
                }
            }
            else if (response.StatusCode != HttpStatusCode.Unauthorized || (await response.ReadProblemAsync())?.Code != "unauthorized")
            {
                wrong.Add($"{endpoint.Key}: {await response.DescribeAsync()}");
            }
        }

        Assert.True(wrong.Count == 0, "anonymous calls must get 401 unauthorized:\n" + string.Join("\n", wrong));
        Assert.All(Public.Keys, key => Assert.Contains(endpoints, e => e.Key == key));
    }

    [Fact]
    public async Task Walk_AdminOfAnotherSchool_EverySchoolEndpointReturns403Or404()
    {
        var schoolA = await new SchoolBuilder(app).CreateAsync("Школа А");
        var schoolB = await new SchoolBuilder(app).CreateAsync("Школа Б");
        var values = await schoolA.RouteValuesAsync();
        await schoolB.RouteValuesAsync(); // school B has people and links of its own, so its admin has something to confuse
        var endpoints = EndpointCatalog.All(app.Services);
        var auditBefore = (await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/audit")).ReadAsync<List<AuditEventDto>>()).Count;

        var unclassified = endpoints.Where(e => !IsScoped(e) && !IsPublic(e) && !WithoutSchool.ContainsKey(e.Key)).Select(e => e.Key).ToList();
        Assert.True(unclassified.Count == 0,
            "new endpoints without {schoolId} or {chatId}: add them to WithoutSchool with a reason, or put them under a school or chat:\n" + string.Join("\n", unclassified));
        var stale = WithoutSchool.Keys.Where(key => !endpoints.Any(e => e.Key == key)).ToList();
        Assert.True(stale.Count == 0, "WithoutSchool names endpoints that no longer exist:\n" + string.Join("\n", stale));

        var schoolEndpoints = endpoints.Where(IsScoped).ToList();
        Assert.True(schoolEndpoints.Count >= 20, $"only {schoolEndpoints.Count} school endpoints found");
        var wrong = new List<string>();
        foreach (var endpoint in schoolEndpoints)
        {
            using var request = endpoint.Request(values);
            using var response = await schoolB.Admin.Http.SendAsync(request);
            var problem = await response.ReadProblemAsync();
            if (response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.NotFound) || problem is null)
            {
                wrong.Add($"{endpoint.Key}: {await response.DescribeAsync()}");
            }
        }

        Assert.True(wrong.Count == 0, "the admin of another school must get 403 or 404 with a problem body:\n" + string.Join("\n", wrong));

        // An id of school A's admin's session is nothing to school B's admin either.
        await (await schoolB.Admin.Http.DeleteAsync($"/api/me/sessions/{values["sessionId"]}")).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");

        // And school A is exactly as it was.
        await (await schoolA.Admin.Http.GetAsync("/api/me")).EnsureOkAsync();
        var a = await (await schoolA.Admin.Http.GetAsync(schoolA.Api)).ReadAsync<SchoolDto>();
        Assert.Equal(("Школа А", "active", true), (a.Name, a.Status, a.MyRoles!.Contains("admin")));
        var invite = (await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/invites")).ReadAsync<List<InviteDto>>()).Single(i => i.Id.ToString() == values["inviteId"]);
        Assert.Equal(("active", 0), (invite.State, invite.Uses));
        var joinRequest = Assert.Single(await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/join-requests")).ReadAsync<List<JoinRequestDto>>(), r => r.Id.ToString() == values["requestId"]);
        Assert.Equal("pending", joinRequest.Status);
        var teacher = (await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/members")).ReadAsync<List<MemberDto>>()).Single(m => m.AccountId.ToString() == values["accountId"]);
        Assert.True(teacher.VerifiedTeacher);
        Assert.Equal([Guid.Parse(values["classId"])], teacher.ClassTeacherOf);
        Assert.DoesNotContain(teacher.Roles, r => r is "admin" or "director");
        var classes = await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/classes")).ReadAsync<List<ClassDto>>();
        Assert.Equal("9В", classes.Single(c => c.Id.ToString() == values["classId"]).Name);
        Assert.Equal(auditBefore, (await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/audit")).ReadAsync<List<AuditEventDto>>()).Count);
    }

    /// <summary>Endpoints about something of one school: a school, or a chat or file (which belong to one school).</summary>
    private static bool IsScoped(ApiEndpoint endpoint) => endpoint.HasParameter("schoolId") || endpoint.HasParameter("chatId") || endpoint.HasParameter("fileId");

    /// <summary>Scalar's API reference is mapped only in Development; it is as public as the OpenAPI document it shows.</summary>
    private static bool IsPublic(ApiEndpoint endpoint) =>
        Public.ContainsKey(endpoint.Key) || endpoint.Pattern.StartsWith("/api-docs", StringComparison.Ordinal);
}
