using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Infrastructure;
using Chat.Hub.Features.Schools;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>Builds a school through the public API, the way its people would: every step is a real request.</summary>
public sealed class SchoolBuilder(ChatApp app)
{
    private static int phoneCounter = 100_000;

    public static string NewPhone() => "+7901" + Interlocked.Increment(ref phoneCounter).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<TestSchool> CreateAsync(string name = "Школа №1")
    {
        var op = await app.OperatorAsync(NewPhone());
        var adminPhone = NewPhone();
        var school = await (await op.Http.PostAsJsonAsync("/api/platform/schools", new { name, region = "Москва", address = "ул. Школьная, 1", adminPhone }))
            .ReadAsync<SchoolDto>();
        var admin = await app.SignInAsync(adminPhone, "Анна Администратор");
        return new TestSchool(app, school.Id, admin);
    }

    /// <summary>
    /// The class most stories play in: a new school with «5А», its class teacher Мария Ивановна and pupils (Петя, Маша,
    /// then «Ученик N»); with <paramref name="withNeighbours"/> also Коля of 5Б and Петя's mother. ChatId is 5А's class chat.
    /// </summary>
    public async Task<ClassRoom> ClassRoomAsync(int pupils = 2, bool withNeighbours = false)
    {
        var school = await CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var list = new List<TestUser>();
        for (var i = 0; i < pupils; i++)
        {
            list.Add(await school.AddStudentAsync(i switch { 0 => "Петя", 1 => "Маша", _ => $"Ученик {i + 1}" }, class5A.Id));
        }

        TestUser? kolya = null, mother = null;
        if (withNeighbours)
        {
            var class5B = await school.CreateClassAsync("5Б");
            kolya = await school.AddStudentAsync("Коля", class5B.Id);
            mother = await school.AddParentAsync("Мама Пети", list[0].AccountId);
        }

        var chats = await teacher.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={school.Id}", ChatJson.Options);
        var chatId = chats!.Single(c => c.Kind == "class" && c.ClassId == class5A.Id).Id;
        return new ClassRoom(school, class5A, chatId, teacher, list, kolya, mother);
    }
}

/// <summary>5А of <see cref="SchoolBuilder.ClassRoomAsync"/>: the school, the class, its class chat and its people.</summary>
public sealed record ClassRoom(TestSchool School, ClassDto Class, Guid ChatId, TestUser Teacher, IReadOnlyList<TestUser> Pupils, TestUser? Neighbour5B, TestUser? PetyasMother)
{
    public TestUser Petya => Pupils[0];

    public TestUser Masha => Pupils[1];

    /// <summary>A pupil of 5Б (only with neighbours).</summary>
    public TestUser Kolya => Neighbour5B ?? throw new InvalidOperationException("built without neighbours");

    /// <summary>Петя's mother, in 5А's parents' chat (only with neighbours).</summary>
    public TestUser Mother => PetyasMother ?? throw new InvalidOperationException("built without neighbours");
}

public sealed class TestSchool(ChatApp app, Guid id, TestUser admin)
{
    public Guid Id { get; } = id;

    public TestUser Admin { get; } = admin;

    public string Api => $"/api/schools/{Id}";

    /// <summary>A class of the school's current year, or of <paramref name="schoolYear"/>.</summary>
    public async Task<ClassDto> CreateClassAsync(string name, int? schoolYear = null) =>
        await (await Admin.Http.PostAsJsonAsync($"{Api}/classes", new { name, schoolYear })).ReadAsync<ClassDto>();

    public async Task<InviteDto> InviteAsync(TestUser by, string role, Guid? classId = null, Guid? childId = null, int? maxUses = null, int? expiresInHours = null) =>
        await (await by.Http.PostAsJsonAsync($"{Api}/invites", new { role, classId, childId, maxUses, expiresInHours })).ReadAsync<InviteDto>();

    public static async Task<AcceptInviteResult> AcceptAsync(TestUser who, InviteDto invite, string? childName = null) =>
        await (await who.Http.PostAsJsonAsync($"/api/invites/{invite.Token}/accept", new { childName })).ReadAsync<AcceptInviteResult>();

    /// <summary>A verified teacher, joined by an invite and approved by the admin.</summary>
    public async Task<TestUser> AddVerifiedTeacherAsync(string name, Guid? classTeacherOf = null)
    {
        var teacher = await app.SignInAsync(SchoolBuilder.NewPhone(), name);
        var invite = await InviteAsync(Admin, "teacher");
        var accepted = await AcceptAsync(teacher, invite);
        if (accepted.Status == "pending")
        {
            await (await Admin.Http.PostAsJsonAsync($"{Api}/join-requests/{accepted.JoinRequestId}/approve", new { })).EnsureOkAsync();
        }

        await (await Admin.Http.PutAsync($"{Api}/teachers/{teacher.AccountId}/verification", null)).EnsureOkAsync();
        if (classTeacherOf is { } classId)
        {
            await (await Admin.Http.PutAsync($"{Api}/classes/{classId}/teachers/{teacher.AccountId}", null)).EnsureOkAsync();
        }

        return teacher;
    }

    public async Task<TestUser> AddStudentAsync(string name, Guid classId)
    {
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), name);
        var invite = await InviteAsync(Admin, "student", classId);
        Assert.Equal("joined", (await AcceptAsync(pupil, invite)).Status);
        return pupil;
    }

    /// <summary>
    /// Fills the school with one of everything a route can name (a class, a verified class teacher, an invite, a
    /// pending join request) and returns real ids for every route parameter of the API.
    /// </summary>
    public async Task<Dictionary<string, string>> RouteValuesAsync()
    {
        var cls = await CreateClassAsync("9В");
        var teacher = await AddVerifiedTeacherAsync("Учитель Маршрутов", classTeacherOf: cls.Id);
        var invite = await InviteAsync(Admin, "student", cls.Id);
        var applicant = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ожидающий Учитель");
        var pending = await AcceptAsync(applicant, await InviteAsync(Admin, "teacher"));
        Assert.Equal("pending", pending.Status);
        var classChat = (await teacher.Http.GetFromJsonAsync<List<Chat.Hub.Features.Chats.ChatSummaryDto>>($"/api/chats?schoolId={Id}"))!.Single(c => c.Kind == "class");
        var rule = (await Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Moderation.RuleDto>>($"{Api}/rules"))!.First();
        using var upload = new ByteArrayContent("Домашнее задание"u8.ToArray());
        var file = await (await teacher.Http.PostAsync($"{Api}/files?name=homework.txt&uploadId={Guid.NewGuid()}", upload)).ReadAsync<Chat.Hub.Features.Files.FileDto>();
        await (await teacher.Http.PostAsJsonAsync($"/api/chats/{classChat.Id}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { file.Id } })).EnsureOkAsync();
        var resumable = await (await teacher.Http.PostAsJsonAsync($"{Api}/uploads", new { name = "lesson.txt", size = 1000 })).ReadAsync<Chat.Hub.Features.Files.UploadDto>();
        Guid callId;
        await using (var hub = await HubClient.ConnectAsync(app, teacher))
        {
            // A lesson in the class chat (no media server needed to start one), so call routes have a real id.
            callId = (await Microsoft.AspNetCore.SignalR.Client.HubConnectionExtensions.InvokeAsync<Chat.Hub.Features.Calls.CallJoinDto>(
                hub.Connection, "StartCall", classChat.Id, true)).Call.CallId;
        }

        return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["chatId"] = classChat.Id.ToString(),
            ["ruleId"] = rule.Id.ToString(),
            ["fileId"] = file.Id.ToString(),
            ["seq"] = "1",
            ["schoolId"] = Id.ToString(),
            ["classId"] = cls.Id.ToString(),
            ["accountId"] = teacher.AccountId.ToString(),
            ["parentId"] = Admin.AccountId.ToString(),
            ["inviteId"] = invite.Id.ToString(),
            ["requestId"] = pending.JoinRequestId!.Value.ToString(),
            ["sessionId"] = Admin.Tokens.SessionId.ToString(),
            ["token"] = invite.Token,
            ["documentName"] = "v1",
            ["callId"] = callId.ToString(),
            ["uploadId"] = resumable.UploadId.ToString(),
        };
    }

    /// <summary>Links an existing parent to one more child, through a one-child invite link.</summary>
    public async Task LinkParentAsync(TestUser parent, Guid childId)
    {
        var invite = await InviteAsync(Admin, "parent", childId: childId);
        Assert.Equal("joined", (await AcceptAsync(parent, invite)).Status);
    }

    public async Task<TestUser> AddParentAsync(string name, Guid childId)
    {
        var parent = await app.SignInAsync(SchoolBuilder.NewPhone(), name);
        var invite = await InviteAsync(Admin, "parent", childId: childId);
        Assert.Equal("joined", (await AcceptAsync(parent, invite)).Status);
        return parent;
    }
}
