using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>Sign-in by one-time code, refresh token rotation and sessions (test plan items 24 and 27).</summary>
public sealed class SignInTests(ChatApp app) : IClassFixture<ChatApp>
{
    private const int MaxAttempts = 5;
    private const int SendsPerHour = 5;

    [Fact]
    public async Task Verify_WrongCode_ReturnsCodeInvalid()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        var code = await RequestCodeAsync(http, phone);

        await (await VerifyAsync(http, phone, Wrong(code))).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_invalid");

        // A wrong try does not burn the code: the right one still signs in.
        var pair = await (await VerifyAsync(http, phone, code)).ReadAsync<TokenPair>();
        Assert.Equal(phone, pair.Account.Phone);
    }

    [Fact]
    public async Task Verify_AfterMaxWrongAttempts_RejectsEvenTheRightCode()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        var code = await RequestCodeAsync(http, phone);

        for (var attempt = 1; attempt < MaxAttempts; attempt++)
        {
            await (await VerifyAsync(http, phone, Wrong(code))).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_invalid");
        }

        // The last allowed wrong try already says that the attempts are over.
        await (await VerifyAsync(http, phone, Wrong(code))).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_attempts_exceeded");
        await (await VerifyAsync(http, phone, code)).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_attempts_exceeded");

        // A new code starts over.
        var next = await RequestCodeAsync(http, phone);
        await (await VerifyAsync(http, phone, next)).EnsureOkAsync();
    }

    [Fact]
    public async Task Verify_SameCodeTwice_SecondReturnsCodeExpired()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        var code = await RequestCodeAsync(http, phone);

        await (await VerifyAsync(http, phone, code)).EnsureOkAsync();
        await (await VerifyAsync(http, phone, code)).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_expired");
    }

    /// <summary>A double tap sends the same code twice at once: one sign-in, one account, the other told the code is used.</summary>
    [Fact]
    public async Task Verify_SameCodeTwiceAtOnce_OneSignsIn_TheOtherReturnsCodeExpired()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        var code = await RequestCodeAsync(http, phone);

        var both = await Task.WhenAll(VerifyAsync(http, phone, code), VerifyAsync(http, phone, code));
        Assert.Single(both, r => r.StatusCode == HttpStatusCode.OK);
        await both.Single(r => r.StatusCode != HttpStatusCode.OK).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_expired");
        Assert.Equal(1, await app.ExecuteSqlAsync("UPDATE accounts SET display_name = display_name WHERE phone = @phone", new { phone }));
    }

    [Fact]
    public async Task RequestCode_NewRequest_InvalidatesTheOldCode()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        var old = await RequestCodeAsync(http, phone);
        var current = await RequestCodeAsync(http, phone);
        if (current == old)
        {
            // One chance in a million: the same six digits twice. A third code tells the two apart.
            current = await RequestCodeAsync(http, phone);
        }

        Assert.NotEqual(old, current);
        await (await VerifyAsync(http, phone, old)).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_invalid");
        await (await VerifyAsync(http, phone, current)).EnsureOkAsync();
    }

    [Fact]
    public async Task RequestCode_SixthWithinAnHour_ReturnsCodeSendLimit()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        for (var i = 0; i < SendsPerHour; i++)
        {
            await (await http.PostAsJsonAsync("/api/auth/code", new { phone })).EnsureOkAsync();
        }

        var sentBefore = app.Codes.Sent;
        await (await http.PostAsJsonAsync("/api/auth/code", new { phone })).ExpectErrorAsync(HttpStatusCode.TooManyRequests, "code_send_limit");
        Assert.Equal(sentBefore, app.Codes.Sent);

        // The limit is per identity: another phone from the same client still gets its code.
        await (await http.PostAsJsonAsync("/api/auth/code", new { phone = SchoolBuilder.NewPhone() })).EnsureOkAsync();
    }

    [Fact]
    public async Task RequestCode_ExistingAndUnknownPhone_AnswerIsIdentical()
    {
        var existing = SchoolBuilder.NewPhone();
        await app.SignInAsync(existing, "Уже зарегистрирован");
        using var http = app.CreateClient();

        var forExisting = await http.PostAsJsonAsync("/api/auth/code", new { phone = existing });
        var forUnknown = await http.PostAsJsonAsync("/api/auth/code", new { phone = SchoolBuilder.NewPhone() });

        Assert.Equal(HttpStatusCode.Accepted, forExisting.StatusCode);
        Assert.Equal(forExisting.StatusCode, forUnknown.StatusCode);
        Assert.Equal(forExisting.Content.Headers.ContentType?.ToString(), forUnknown.Content.Headers.ContentType?.ToString());
        Assert.Equal(forExisting.Headers.Select(h => h.Key).Order(), forUnknown.Headers.Select(h => h.Key).Order());
        Assert.Equal(await forExisting.Content.ReadAsStringAsync(), await forUnknown.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("phone", "12345")]
    [InlineData("phone", "не телефон")]
    [InlineData("phone", "+7 900 123-45-67 доб. 1")]
    [InlineData("email", "not-an-email")]
    [InlineData("email", "two@@example.org")]
    public async Task RequestCode_InvalidIdentity_ReturnsValidationFailedNamingTheField(string field, string value)
    {
        using var http = app.CreateClient();
        var body = new Dictionary<string, string> { [field] = value };

        var problem = await (await http.PostAsJsonAsync("/api/auth/code", body)).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey(field), $"the error should name {field}: {string.Join(", ", problem.Errors?.Keys ?? [])}");

        // Verification validates the same way.
        var verifyBody = new Dictionary<string, string> { [field] = value, ["code"] = "123456" };
        var verifyProblem = await (await http.PostAsJsonAsync("/api/auth/verify", verifyBody)).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(verifyProblem.Errors?.ContainsKey(field));
    }

    [Fact]
    public async Task RequestCode_NeitherPhoneNorEmail_ReturnsValidationFailed()
    {
        using var http = app.CreateClient();
        var problem = await (await http.PostAsJsonAsync("/api/auth/code", new { })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("phone"));
    }

    [Fact]
    public async Task Verify_Email_SignsInAndNormalisesTheAddress()
    {
        var email = $"Teacher.{Guid.NewGuid():N}@School.Test";
        var user = await app.SignInWithEmailAsync(email);
        Assert.Equal(email.ToLowerInvariant(), user.Tokens.Account.Email);
        Assert.Null(user.Tokens.Account.Phone);
        Assert.True(user.Tokens.IsNewAccount);
    }

    [Fact]
    public async Task Refresh_ValidToken_RotatesWithinTheSameSession()
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone());
        using var http = app.CreateClient();

        var rotated = await (await RefreshAsync(http, user.Tokens.RefreshToken)).ReadAsync<TokenPair>();

        Assert.Equal(user.Tokens.SessionId, rotated.SessionId);
        Assert.NotEqual(user.Tokens.RefreshToken, rotated.RefreshToken);
        Assert.Equal(user.AccountId, rotated.Account.Id);
        using var withNewToken = app.CreateClient(rotated.AccessToken);
        Assert.Equal(user.AccountId, (await (await withNewToken.GetAsync("/api/me")).ReadAsync<MeDto>()).Id);

        // The new refresh token rotates again.
        var again = await (await RefreshAsync(http, rotated.RefreshToken)).ReadAsync<TokenPair>();
        Assert.Equal(user.Tokens.SessionId, again.SessionId);
    }

    [Fact]
    public async Task Refresh_ReusedToken_ReturnsRefreshInvalidAndRevokesTheSession()
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone());
        using var http = app.CreateClient();
        var rotated = await (await RefreshAsync(http, user.Tokens.RefreshToken)).ReadAsync<TokenPair>();
        using var withNewToken = app.CreateClient(rotated.AccessToken);
        await (await withNewToken.GetAsync("/api/me")).EnsureOkAsync();

        // The already rotated token comes back: someone holds a copy of it.
        await (await RefreshAsync(http, user.Tokens.RefreshToken)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");

        // The whole session is gone: the legitimate holder's new tokens stop working too.
        await (await withNewToken.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await user.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await RefreshAsync(http, rotated.RefreshToken)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
    }

    [Fact]
    public async Task Refresh_RetriedWithTheSameRenewalIdAfterALostAnswer_GivesAWorkingPairAndKeepsTheSession()
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone());
        using var http = app.CreateClient();
        var renewalId = Guid.NewGuid().ToString();

        // The first answer never reaches the teacher's phone (the train enters a tunnel): its pair is lost.
        var lost = await (await RefreshAsync(http, user.Tokens.RefreshToken, renewalId)).ReadAsync<TokenPair>();

        // The retry repeats the spent token with the same renewal id, twice (the second answer is lost too).
        await (await RefreshAsync(http, user.Tokens.RefreshToken, renewalId)).EnsureOkAsync();
        var retried = await (await RefreshAsync(http, user.Tokens.RefreshToken, renewalId)).ReadAsync<TokenPair>();

        Assert.Equal(user.Tokens.SessionId, retried.SessionId);
        using var withRetried = app.CreateClient(retried.AccessToken);
        await (await withRetried.GetAsync("/api/me")).EnsureOkAsync();
        await (await user.Http.GetAsync("/api/me")).EnsureOkAsync();
        var next = await (await RefreshAsync(http, retried.RefreshToken, Guid.NewGuid().ToString())).ReadAsync<TokenPair>();
        Assert.Equal(user.Tokens.SessionId, next.SessionId);

        // The lost refresh token was replaced by the retry's: it is worth nothing, and does not end the session.
        await (await RefreshAsync(http, lost.RefreshToken)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
        await (await app.CreateClient(next.AccessToken).GetAsync("/api/me")).EnsureOkAsync();
    }

    [Fact]
    public async Task Refresh_SpentTokenWithAnotherRenewalId_RevokesTheSession()
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone());
        using var http = app.CreateClient();
        var rotated = await (await RefreshAsync(http, user.Tokens.RefreshToken, Guid.NewGuid().ToString())).ReadAsync<TokenPair>();

        // A copy of the spent token comes back, but not as the retry of that renewal: someone else holds it.
        await (await RefreshAsync(http, user.Tokens.RefreshToken, Guid.NewGuid().ToString()))
            .ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");

        await (await app.CreateClient(rotated.AccessToken).GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await RefreshAsync(http, rotated.RefreshToken)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
    }

    [Fact]
    public async Task Refresh_RetryAfterTheWindowOrAfterTheNewTokenWasUsed_RevokesTheSession()
    {
        var late = await app.SignInAsync(SchoolBuilder.NewPhone());
        using var http = app.CreateClient();
        var renewalId = Guid.NewGuid().ToString();
        await (await RefreshAsync(http, late.Tokens.RefreshToken, renewalId)).EnsureOkAsync();

        // Auth:RefreshRetrySeconds (120 s) pass: the same retry is now a copied token.
        await app.ExecuteSqlAsync(
            $"UPDATE sessions SET rotated_at = now() - interval '121 seconds' WHERE id = '{late.Tokens.SessionId}'");
        await (await RefreshAsync(http, late.Tokens.RefreshToken, renewalId)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
        await (await late.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");

        // The answer did arrive and its token was used: the old one with the same id is no retry any more, and its
        // successor's reuse revokes the session as before.
        var used = await app.SignInAsync(SchoolBuilder.NewPhone());
        var first = await (await RefreshAsync(http, used.Tokens.RefreshToken, renewalId)).ReadAsync<TokenPair>();
        var second = await (await RefreshAsync(http, first.RefreshToken, Guid.NewGuid().ToString())).ReadAsync<TokenPair>();
        await (await RefreshAsync(http, used.Tokens.RefreshToken, renewalId)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
        await (await app.CreateClient(second.AccessToken).GetAsync("/api/me")).EnsureOkAsync();
        await (await RefreshAsync(http, first.RefreshToken, renewalId)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
        await (await app.CreateClient(second.AccessToken).GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Refresh_UnknownToken_ReturnsRefreshInvalid()
    {
        using var http = app.CreateClient();
        await (await RefreshAsync(http, TokenService.NewRefreshToken())).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
        var problem = await (await RefreshAsync(http, "")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("refreshToken"));
        var shortId = await (await RefreshAsync(http, TokenService.NewRefreshToken(), "1")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(shortId.Errors?.ContainsKey("renewalId"));
    }

    [Fact]
    public async Task SignOutEverywhere_TwoSessions_BothAccessTokensAndRefreshTokensFail()
    {
        var phone = SchoolBuilder.NewPhone();
        var laptop = await app.SignInAsync(phone);
        var phoneApp = await app.SignInAsync(phone);
        Assert.NotEqual(laptop.Tokens.SessionId, phoneApp.Tokens.SessionId);
        await (await laptop.Http.GetAsync("/api/me")).EnsureOkAsync();

        var response = await laptop.Http.PostAsync("/api/auth/sign-out-everywhere", null);
        var ended = await response.ReadAsync<Dictionary<string, int>>();
        Assert.Equal(2, ended["ended"]);

        await (await laptop.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await phoneApp.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        using var http = app.CreateClient();
        await (await RefreshAsync(http, phoneApp.Tokens.RefreshToken)).ExpectErrorAsync(HttpStatusCode.Unauthorized, "refresh_invalid");
    }

    [Fact]
    public async Task SignOut_CurrentSession_EndsOnlyThatSession()
    {
        var phone = SchoolBuilder.NewPhone();
        var first = await app.SignInAsync(phone);
        var second = await app.SignInAsync(phone);

        Assert.Equal(HttpStatusCode.NoContent, (await first.Http.PostAsync("/api/auth/sign-out", null)).StatusCode);

        await (await first.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await second.Http.GetAsync("/api/me")).EnsureOkAsync();
    }

    [Fact]
    public async Task Sessions_ListAndDelete_EndsTheChosenSession()
    {
        var phone = SchoolBuilder.NewPhone();
        var old = await app.SignInAsync(phone);
        var current = await app.SignInAsync(phone);

        var sessions = await (await current.Http.GetAsync("/api/me/sessions")).ReadAsync<List<SessionDto>>();
        Assert.Equal(2, sessions.Count);
        Assert.Equal(current.Tokens.SessionId, Assert.Single(sessions, s => s.IsCurrent).Id);
        Assert.Contains(sessions, s => s.Id == old.Tokens.SessionId && !s.IsCurrent && s.Device == "tests");

        Assert.Equal(HttpStatusCode.NoContent, (await current.Http.DeleteAsync($"/api/me/sessions/{old.Tokens.SessionId}")).StatusCode);

        await (await old.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        var left = await (await current.Http.GetAsync("/api/me/sessions")).ReadAsync<List<SessionDto>>();
        Assert.Equal(current.Tokens.SessionId, Assert.Single(left).Id);

        // Ending it again, or ending someone else's session, finds nothing.
        await (await current.Http.DeleteAsync($"/api/me/sessions/{old.Tokens.SessionId}")).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        var stranger = await app.SignInAsync(SchoolBuilder.NewPhone());
        await (await stranger.Http.DeleteAsync($"/api/me/sessions/{current.Tokens.SessionId}")).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await current.Http.GetAsync("/api/me")).EnsureOkAsync();
    }

    [Fact]
    public async Task Code_SixDigits_ValidAtMostTenMinutes_RefusedOnceExpired()
    {
        var phone = SchoolBuilder.NewPhone();
        using var http = app.CreateClient();
        var sent = await (await http.PostAsJsonAsync("/api/auth/code", new { phone })).ReadAsync<CodeSent>();
        Assert.InRange(sent.ExpiresInSeconds, 1, 600);
        var code = app.Codes.Last(phone);
        Assert.Matches("^[0-9]{6}$", code);
        var lifetime = await ScalarAsync<double>("SELECT max(extract(epoch FROM expires_at - created_at)) FROM sign_in_codes");
        Assert.InRange(lifetime, 1, 600);

        // Ten minutes pass (the code's end moves into the past): the right code no longer signs in.
        await app.ExecuteSqlAsync("UPDATE sign_in_codes SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL");
        await (await VerifyAsync(http, phone, code)).ExpectErrorAsync(HttpStatusCode.BadRequest, "code_expired");
        var fresh = await RequestCodeAsync(http, phone);
        await (await VerifyAsync(http, phone, fresh)).EnsureOkAsync();
    }

    [Fact]
    public async Task RequestCode_ManyIdentitiesFromOneClientAddress_LimitedPerAddress_OtherAddressesNot()
    {
        const int PerClient = 30;
        async Task<HttpResponseMessage> FromAsync(string address, string phone)
        {
            // The in-process server has no socket: the client's address is set on each request, as Kestrel would.
            using var http = new HttpClient(app.Server.CreateHandler(c => c.Connection.RemoteIpAddress = IPAddress.Parse(address))) { BaseAddress = app.Server.BaseAddress };
            return await http.PostAsJsonAsync("/api/auth/code", new { phone });
        }

        for (var i = 0; i < PerClient; i++)
        {
            await (await FromAsync("203.0.113.7", SchoolBuilder.NewPhone())).EnsureOkAsync();
        }

        var sentBefore = app.Codes.Sent;
        await (await FromAsync("203.0.113.7", SchoolBuilder.NewPhone())).ExpectErrorAsync(HttpStatusCode.TooManyRequests, "code_send_limit");
        Assert.Equal(sentBefore, app.Codes.Sent);
        await (await FromAsync("198.51.100.20", SchoolBuilder.NewPhone())).EnsureOkAsync();
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        return await Dapper.SqlMapper.ExecuteScalarAsync<T>(connection, sql) ?? throw new InvalidOperationException("no value");
    }

    [Fact]
    public async Task AccessTokenInTheQuery_AcceptedOnTheHubPathOnly()
    {
        var user = await app.SignInAsync(SchoolBuilder.NewPhone(), "Проверка токена");
        var token = Uri.EscapeDataString(user.Tokens.AccessToken);
        using var anonymous = app.CreateClient();

        // An API call with the token in its URL is not signed in (URLs end up in proxies' and browsers' histories).
        await (await anonymous.GetAsync($"/api/me?access_token={token}")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await anonymous.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await user.Http.GetAsync("/api/me")).EnsureOkAsync();

        // The hub's negotiation takes it from the query, as browsers' WebSockets must.
        var negotiate = await anonymous.PostAsync($"/hubs/chat/negotiate?negotiateVersion=1&access_token={token}", null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
    }

    private async Task<string> RequestCodeAsync(HttpClient http, string phone)
    {
        await (await http.PostAsJsonAsync("/api/auth/code", new { phone })).EnsureOkAsync();
        return app.Codes.Last(phone);
    }

    private static Task<HttpResponseMessage> VerifyAsync(HttpClient http, string phone, string code) =>
        http.PostAsJsonAsync("/api/auth/verify", new { phone, code, device = "tests" });

    private static Task<HttpResponseMessage> RefreshAsync(HttpClient http, string refreshToken, string? renewalId = null) =>
        http.PostAsJsonAsync("/api/auth/refresh", new { refreshToken, renewalId });

    private static string Wrong(string code) =>
        ((int.Parse(code, CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
}
