using System.Net.Http.Json;
using System.Text.Json;
using Chat.Storage.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Web.Tests;

/// <summary>Builds schools through the public API, the way their people would.</summary>
public sealed class Scene(WebApp app)
{
    private static int phoneCounter = 500_000;

    public static string NewPhone() => "+7902" + Interlocked.Increment(ref phoneCounter).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<School> SchoolAsync(string name)
    {
        var op = await OperatorAsync();
        var adminPhone = NewPhone();
        var school = await Read(await op.Http.PostAsJsonAsync("/api/platform/schools", new { name, region = "Москва", address = "ул. Школьная, 1", adminPhone }));
        var admin = await app.SignInAsync(adminPhone, "Анна Администратор");
        return new School(app, school.GetProperty("id").GetGuid(), admin);
    }

    /// <summary>A platform operator (made one directly: ./run.sh's operator grant does the same).</summary>
    public async Task<ApiUser> OperatorAsync()
    {
        var op = await app.SignInAsync(NewPhone(), "Оператор");
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AccountStore>().SetOperatorAsync(op.Id, true, CancellationToken.None);
        return op;
    }

    public static async Task<JsonElement> Read(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}

public sealed class School(WebApp app, Guid id, ApiUser admin)
{
    public Guid Id { get; } = id;

    public ApiUser Admin { get; } = admin;

    private string Api => $"/api/schools/{Id}";

    public async Task<Guid> ClassAsync(string name, int? schoolYear = null) =>
        (await Scene.Read(await Admin.Http.PostAsJsonAsync($"{Api}/classes", new { name, schoolYear }))).GetProperty("id").GetGuid();

    public async Task<JsonElement> InviteAsync(string role, Guid? classId = null, Guid? childId = null) =>
        await Scene.Read(await Admin.Http.PostAsJsonAsync($"{Api}/invites", new { role, classId, childId }));

    public async Task<ApiUser> JoinAsync(ApiUser who, string role, Guid? classId = null, Guid? childId = null)
    {
        var invite = await InviteAsync(role, classId, childId);
        var accepted = await Scene.Read(await who.Http.PostAsJsonAsync($"/api/invites/{invite.GetProperty("token").GetString()}/accept", new { }));
        Assert.Equal("joined", accepted.GetProperty("status").GetString());
        return who;
    }

    /// <summary>A verified teacher (joined by link, approved, verified), optionally class teacher of a class.</summary>
    public async Task<ApiUser> TeacherAsync(string name, Guid? classTeacherOf = null)
    {
        var teacher = await app.SignInAsync(Scene.NewPhone(), name);
        var invite = await InviteAsync("teacher");
        var accepted = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/invites/{invite.GetProperty("token").GetString()}/accept", new { }));
        if (accepted.GetProperty("status").GetString() == "pending")
        {
            await Scene.Read(await Admin.Http.PostAsJsonAsync($"{Api}/join-requests/{accepted.GetProperty("joinRequestId").GetGuid()}/approve", new { }));
        }

        (await Admin.Http.PutAsync($"{Api}/teachers/{teacher.Id}/verification", null)).EnsureSuccessStatusCode();
        if (classTeacherOf is { } classId)
        {
            (await Admin.Http.PutAsync($"{Api}/classes/{classId}/teachers/{teacher.Id}", null)).EnsureSuccessStatusCode();
        }

        return teacher;
    }

    /// <summary>Accepts a teacher link and leaves the join request pending (the school approves staff).</summary>
    public async Task<string> PendingTeacherAsync(string name)
    {
        var teacher = await app.SignInAsync(Scene.NewPhone(), name);
        var invite = await InviteAsync("teacher");
        var accepted = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/invites/{invite.GetProperty("token").GetString()}/accept", new { }));
        Assert.Equal("pending", accepted.GetProperty("status").GetString());
        return name;
    }

    public async Task<ApiUser> PupilAsync(string name, Guid classId) => await JoinAsync(await app.SignInAsync(Scene.NewPhone(), name), "student", classId);

    public async Task<ApiUser> ParentAsync(string name, Guid childId) => await JoinAsync(await app.SignInAsync(Scene.NewPhone(), name), "parent", childId: childId);

    public static async Task<Guid> ChatIdAsync(ApiUser who, Guid schoolId, string title)
    {
        var chats = await Scene.Read(await who.Http.GetAsync($"/api/chats?schoolId={schoolId}"));
        return chats.EnumerateArray().First(c => c.GetProperty("title").GetString() == title).GetProperty("id").GetGuid();
    }

    public static async Task SendAsync(ApiUser who, Guid chatId, string text) =>
        await Scene.Read(await who.Http.PostAsJsonAsync($"/api/chats/{chatId}/messages", new { clientId = Guid.NewGuid(), text }));

    /// <summary>Uploads a file in one request as <paramref name="who"/>; returns its id (to post with <see cref="SendFilesAsync"/>).</summary>
    public static async Task<Guid> UploadAsync(ApiUser who, Guid schoolId, string name, byte[] bytes)
    {
        using var content = new ByteArrayContent(bytes);
        var file = await Scene.Read(await who.Http.PostAsync($"/api/schools/{schoolId}/files?name={Uri.EscapeDataString(name)}&uploadId={Guid.NewGuid()}", content));
        return file.GetProperty("id").GetGuid();
    }

    /// <summary>Posts uploaded files as one message of the chat, with a caption or none.</summary>
    public static async Task SendFilesAsync(ApiUser who, Guid chatId, Guid[] fileIds, string? caption = null) =>
        await Scene.Read(await who.Http.PostAsJsonAsync($"/api/chats/{chatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds, caption }));
}
