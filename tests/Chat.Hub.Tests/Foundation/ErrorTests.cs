using System.Net;
using System.Net.Http.Json;
using System.Text;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>Every error is RFC 7807 problem details with a stable code and a Russian title; bad input never becomes a 500.</summary>
public sealed class ErrorTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Theory]
    [InlineData("{")]
    [InlineData("{\"phone\": }")]
    [InlineData("[1, 2]")]
    [InlineData("{\"phone\": 79001234567}")]
    [InlineData("null")]
    [InlineData("")]
    public async Task PostAuthCode_MalformedJson_ReturnsBadRequestProblem(string body)
    {
        using var http = app.CreateClient();

        var response = await http.PostAsync("/api/auth/code", Json(body));

        var problem = await response.ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
        Assert.Equal("Некорректный запрос.", problem.Title);
    }

    [Fact]
    public async Task PostClass_MalformedJsonFromAdmin_ReturnsBadRequestProblem()
    {
        var school = await new SchoolBuilder(app).CreateAsync();

        var problem = await (await school.Admin.Http.PostAsync($"{school.Api}/classes", Json("{\"name\": \"5А\""))).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
        Assert.Matches("[А-Яа-яЁё]", problem.Detail!);
        await (await school.Admin.Http.PostAsync($"{school.Api}/invites", Json("{\"role\": \"student\", \"maxUses\": \"много\"}"))).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
        await (await school.Admin.Http.PostAsync($"{school.Api}/invites", Json("{\"role\": \"student\", \"classId\": \"не-гуид\"}"))).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
    }

    [Theory]
    [InlineData("/api/nothing-here")]
    [InlineData("/api/schools/not-a-guid")]
    [InlineData("/api/schools/00000000-0000-0000-0000-000000000000/nothing")]
    [InlineData("/favicon.ico")]
    public async Task Get_UnknownRoute_Returns404WithCode(string path)
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone());
        using var anonymous = app.CreateClient();

        await (await anonymous.GetAsync(path)).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await user.Http.GetAsync(path)).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task ErrorResponses_OfEveryKind_AreProblemJsonWithCode()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);
        var revoked = await school.InviteAsync(school.Admin, "student", class5A.Id);
        await (await school.Admin.Http.DeleteAsync($"{school.Api}/invites/{revoked.Id}")).EnsureOkAsync();
        using var anonymous = app.CreateClient();
        var limitedPhone = SchoolBuilder.NewPhone();
        for (var i = 0; i < 5; i++)
        {
            await (await anonymous.PostAsJsonAsync("/api/auth/code", new { phone = limitedPhone })).EnsureOkAsync();
        }

        var cases = new (Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status, string Code)[]
        {
            (() => anonymous.PostAsJsonAsync("/api/auth/code", new { phone = "123" }), HttpStatusCode.BadRequest, "validation_failed"),
            (() => anonymous.PostAsync("/api/auth/code", Json("{")), HttpStatusCode.BadRequest, "bad_request"),
            (() => anonymous.PostAsJsonAsync("/api/auth/verify", new { phone = limitedPhone, code = "000000" }), HttpStatusCode.BadRequest, "code_invalid"),
            (() => anonymous.GetAsync("/api/me"), HttpStatusCode.Unauthorized, "unauthorized"),
            (() => Bearer("not.a.token").GetAsync("/api/me"), HttpStatusCode.Unauthorized, "unauthorized"),
            (() => anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = "unknown-token" }), HttpStatusCode.Unauthorized, "refresh_invalid"),
            (() => pupil.Http.GetAsync($"{school.Api}/audit"), HttpStatusCode.Forbidden, "admin_only"),
            (() => pupil.Http.GetAsync("/api/platform/schools"), HttpStatusCode.Forbidden, "operator_only"),
            (() => anonymous.GetAsync("/api/nothing-here"), HttpStatusCode.NotFound, "not_found"),
            (() => pupil.Http.GetAsync($"/api/schools/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "school_not_found"),
            (() => anonymous.DeleteAsync("/api/auth/code"), HttpStatusCode.MethodNotAllowed, "method_not_allowed"),
            (() => school.Admin.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "5А" }), HttpStatusCode.Conflict, "class_name_taken"),
            (() => pupil.Http.PostAsJsonAsync($"/api/invites/{revoked.Token}/accept", new { }), HttpStatusCode.Gone, "invite_revoked"),
            (() => anonymous.PostAsync("/api/auth/code", new StringContent("phone=+79001234567", Encoding.UTF8, "application/x-www-form-urlencoded")), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type"),
            (() => anonymous.PostAsJsonAsync("/api/auth/code", new { phone = limitedPhone }), HttpStatusCode.TooManyRequests, "code_send_limit"),
        };

        foreach (var (send, status, code) in cases)
        {
            using var response = await send();
            await response.ExpectErrorAsync(status, code);
        }
    }

    [Fact]
    public async Task Requests_TextWithNulCharacter_ReturnValidationFailedNot500()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "parent", class5A.Id);
        var applicant = await app.SignInAsync(SchoolBuilder.NewPhone(), "Родитель");
        var pending = await TestSchool.AcceptAsync(applicant, invite, childName: "Петя");
        const string nul = "Текст\u0000";

        var cases = new (Func<Task<HttpResponseMessage>> Send, string Field)[]
        {
            (() => school.Admin.Http.PatchAsJsonAsync("/api/me", new { displayName = nul }), "displayName"),
            (() => school.Admin.Http.PatchAsJsonAsync("/api/me", new { displayName = "Анна", avatarUrl = "/files/" + nul }), "avatarUrl"),
            // A browser takes "/\\host" for another site: an avatar is a file of this server, nothing else.
            (() => school.Admin.Http.PatchAsJsonAsync("/api/me", new { displayName = "Анна", avatarUrl = "/\\evil.example/p.png" }), "avatarUrl"),
            (() => school.Admin.Http.PatchAsJsonAsync("/api/me", new { displayName = "Анна", avatarUrl = "/api/files/../../evil" }), "avatarUrl"),
            (() => school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа", region = nul }), "region"),
            (() => school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа", address = nul }), "address"),
            (() => school.Admin.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "6Б", letter = nul }), "letter"),
            (() => school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { letter = nul }), "letter"),
            (() => school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{pending.JoinRequestId}/reject", new { reason = nul }), "reason"),
            (() => applicant.Http.PostAsJsonAsync($"/api/invites/{invite.Token}/accept", new { childName = nul }), "childName"),
            (() => applicant.Http.PostAsJsonAsync("/api/auth/code", new { email = "ni\u0000ka@example.org" }), "email"),
            (() => applicant.Http.PostAsJsonAsync("/api/auth/verify", new { email = "ni\u0000ka@example.org", code = "123456" }), "email"),
        };

        foreach (var (send, field) in cases)
        {
            using var response = await send();
            var problem = await response.ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(problem.Errors?.ContainsKey(field), $"expected an error for {field}: {await response.DescribeAsync()}");
        }

        // A device name is only a label: control characters are dropped, and signing in works.
        var phone = SchoolBuilder.NewPhone();
        using var anonymous = app.CreateClient();
        await (await anonymous.PostAsJsonAsync("/api/auth/code", new { phone })).EnsureOkAsync();
        var signedIn = await anonymous.PostAsJsonAsync("/api/auth/verify", new { phone, code = app.Codes.Last(phone), device = "Телефон\u0000\u0007" });
        var pair = await signedIn.ReadAsync<Chat.Hub.Features.Accounts.TokenPair>();
        using var user = app.CreateClient(pair.AccessToken);
        var sessions = await (await user.GetAsync("/api/me/sessions")).ReadAsync<List<Chat.Hub.Features.Accounts.SessionDto>>();
        Assert.Equal("Телефон", Assert.Single(sessions).Device);

        // A long name of emoji is cut on whole characters (half of one would fail the session's insert).
        var emojiPhone = SchoolBuilder.NewPhone();
        await (await anonymous.PostAsJsonAsync("/api/auth/code", new { phone = emojiPhone })).EnsureOkAsync();
        var device = "Т" + string.Concat(Enumerable.Repeat("😀", 150));
        var emojiPair = await (await anonymous.PostAsJsonAsync("/api/auth/verify", new { phone = emojiPhone, code = app.Codes.Last(emojiPhone), device })).ReadAsync<Chat.Hub.Features.Accounts.TokenPair>();
        using var emojiUser = app.CreateClient(emojiPair.AccessToken);
        var label = Assert.Single(await (await emojiUser.GetAsync("/api/me/sessions")).ReadAsync<List<Chat.Hub.Features.Accounts.SessionDto>>()).Device!;
        Assert.StartsWith("Т😀", label);
        Assert.True(label.Length < device.Length && char.IsLowSurrogate(label[^1]), label);
    }

    [Theory]
    [InlineData("22021", 400, "bad_request")]
    [InlineData("22P05", 400, "bad_request")]
    [InlineData("57P01", 503, "service_unavailable")]
    [InlineData("42P01", 500, "internal_error")]
    public void Classify_PostgresError_MapsToStableCode(string sqlState, int status, string code)
    {
        var (error, _, _) = Chat.Hub.Infrastructure.ChatExceptionHandler.Classify(new Npgsql.PostgresException("test", "ERROR", "ERROR", sqlState));

        Assert.Equal((status, code), (error.Status, error.Code));
    }

    private HttpClient Bearer(string token) => app.CreateClient(token);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
