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

    private HttpClient Bearer(string token) => app.CreateClient(token);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
