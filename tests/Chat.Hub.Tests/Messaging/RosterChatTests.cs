using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>
/// Roster chats (class, parents', staff room, channels, «Администрация», audience channels) are kept by the school's
/// roles: nobody gets in or keeps a role there by hand once the school role behind it is gone (docs/policies.md).
/// </summary>
public sealed class RosterChatTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static Task<ChatDetailsDto> GetChatAsync(HubClient hub, Guid chatId) => hub.Connection.InvokeAsync<ChatDetailsDto>("GetChat", chatId);

    private static async Task<List<Guid>> MemberIdsAsync(HubClient hub, Guid chatId) =>
        (await hub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", chatId)).Select(m => m.AccountId).Order().ToList();

    [Fact]
    public async Task AddChatMembers_RosterChats_RefusedForTheirModerators_NobodyAdded()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Классная 5А", class5A.Id);
        var pupil = await school.AddStudentAsync("Петя", class5A.Id);
        var otherPupil = await school.AddStudentAsync("Коля", class5B.Id);
        var strangerParent = await school.AddParentAsync("Папа из 5Б", otherPupil.AccountId);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var strangerHub = await HubClient.ConnectAsync(app, strangerParent);
        var classChat = await teacherHub.ClassChatAsync(school.Id, class5A.Id);
        var staffRoom = (await adminHub.ChatsAsync(school.Id)).Single(c => c.Kind == "staff_room");
        var classMembers = await MemberIdsAsync(teacherHub, classChat.Id);
        var staffMembers = await MemberIdsAsync(adminHub, staffRoom.Id);

        // The class teacher moderates the pupils' chat, yet cannot put another class's father in with the children
        // (who could then neither leave nor be removed: the chat follows the roster), nor the admin a pupil in the staff room.
        await teacherHub.Connection.InvokeAsync<int>("AddChatMembers", classChat.Id, new[] { strangerParent.AccountId })
            .ExpectHubErrorAsync("add_member_not_allowed");
        await adminHub.Connection.InvokeAsync<int>("AddChatMembers", staffRoom.Id, new[] { pupil.AccountId })
            .ExpectHubErrorAsync("add_member_not_allowed");

        Assert.Equal(classMembers, await MemberIdsAsync(teacherHub, classChat.Id));
        Assert.Equal(staffMembers, await MemberIdsAsync(adminHub, staffRoom.Id));
        await GetChatAsync(strangerHub, classChat.Id).ExpectHubErrorAsync("chat_not_found");

        // Hand-managed chats still take members from their owners.
        var club = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "group", "Кружок", null, null, null));
        Assert.Equal(1, await teacherHub.Connection.InvokeAsync<int>("AddChatMembers", club.Id, new[] { pupil.AccountId }));
    }

    [Fact]
    public async Task SetChatMemberRole_RoleGivenBySchoolRole_CannotBeTakenOverByHand_AndEndsWithIt()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var deputy = await school.AddVerifiedTeacherAsync("Завуч");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/admins/{deputy.AccountId}", null)).StatusCode);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var deputyHub = await HubClient.ConnectAsync(app, deputy);
        var schoolChannel = (await adminHub.ChatsAsync(school.Id)).Single(c => c.Title == "Общешкольный канал");
        Assert.Equal("owner", (await GetChatAsync(deputyHub, schoolChannel.Id)).Chat.Role);

        // The deputy owns the school channel because she is an admin; a hand-made copy of that role would outlive it.
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", schoolChannel.Id, deputy.AccountId, "owner").ExpectHubErrorAsync("validation_failed");
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", schoolChannel.Id, deputy.AccountId, "moderator").ExpectHubErrorAsync("validation_failed");
        // Nobody is made owner of a roster chat by hand; letting an ordinary member write still works.
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", schoolChannel.Id, teacher.AccountId, "owner").ExpectHubErrorAsync("validation_failed");
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", schoolChannel.Id, teacher.AccountId, "moderator");

        // No longer an admin, the deputy no longer writes to the whole school.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await school.Admin.Http.DeleteAsync($"{school.Api}/admins/{deputy.AccountId}")).StatusCode);
        Assert.Equal("member", (await GetChatAsync(deputyHub, schoolChannel.Id)).Chat.Role);
        await deputyHub.SendAsync(schoolChannel.Id, "Завтра занятий нет").ExpectHubErrorAsync("chat_read_only");
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        Assert.True((await teacherHub.SendAsync(schoolChannel.Id, "Олимпиада по математике в пятницу")).Seq > 0);
    }

    [Fact]
    public async Task AudienceChannel_MemberAllowedToWrite_LeavesWhenTheRosterNoLongerNamesThem()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var pupil = await school.AddStudentAsync("Петя", class5A.Id);
        var parent = await school.AddParentAsync("Мама Пети", pupil.AccountId);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var parentHub = await HubClient.ConnectAsync(app, parent);
        var channel = await adminHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "channel", "Родители 5А", null, null, null, new ChannelAudience(["parent"], [class5A.Id])));

        // The head of the parents' committee may write in the channel of 5А's parents.
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", channel.Id, parent.AccountId, "moderator");
        Assert.True((await parentHub.SendAsync(channel.Id, "Сбор на экскурсию до пятницы")).Seq > 0);

        // Her son moves to 5Б: she is no parent of 5А any more, and the hand-given right does not keep her in its channel.
        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{pupil.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => parentHub.Memberships.Contains((channel.Id, false)), "her open connection leaves the channel");
        await GetChatAsync(parentHub, channel.Id).ExpectHubErrorAsync("chat_not_found");
        await parentHub.HistoryAsync(channel.Id).ExpectHubErrorAsync("chat_not_found");
        await parentHub.SendAsync(channel.Id, "Ещё одно объявление").ExpectHubErrorAsync("chat_not_found");
        Assert.DoesNotContain(parent.AccountId, await MemberIdsAsync(adminHub, channel.Id));
    }

    /// <summary>
    /// The admin who makes an audience channel owns it because she is an admin (her row is the creator's, made by hand):
    /// no longer an admin, she no longer owns it — the roster's role wins over a hand-made owner's row. And a teacher
    /// allowed by hand to write in the school channel who is made an admin gets the admin's role there.
    /// </summary>
    [Fact]
    public async Task HandMadeRows_TheRosterStillDecides_ACreatorNoLongerAdminLosesHerChannel_ATeacherMadeAdminOwnsTheSchoolChannel()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var deputy = await school.AddVerifiedTeacherAsync("Завуч");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель физики");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/admins/{deputy.AccountId}", null)).StatusCode);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var deputyHub = await HubClient.ConnectAsync(app, deputy);
        var staffNews = await deputyHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "channel", "Педсовет", null, null, null, new ChannelAudience(["staff"], null)));
        Assert.Equal("owner", (await GetChatAsync(deputyHub, staffNews.Id)).Chat.Role);
        var schoolChannel = (await adminHub.ChatsAsync(school.Id)).Single(c => c.Title == "Общешкольный канал");
        await adminHub.Connection.InvokeAsync("SetChatMemberRole", schoolChannel.Id, teacher.AccountId, "moderator");

        // The deputy is no admin any more: a reader of the staff channel she made, like every teacher.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await school.Admin.Http.DeleteAsync($"{school.Api}/admins/{deputy.AccountId}")).StatusCode);
        Assert.Equal("member", (await GetChatAsync(deputyHub, staffNews.Id)).Chat.Role);
        await deputyHub.SendAsync(staffNews.Id, "Педсовет переносится").ExpectHubErrorAsync("chat_read_only");

        // The physics teacher becomes an admin: the school channel's owner, not the moderator he was made by hand.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/admins/{teacher.AccountId}", null)).StatusCode);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        Assert.Equal("owner", (await GetChatAsync(teacherHub, schoolChannel.Id)).Chat.Role);
    }

    /// <summary>
    /// Someone put into a class chat by hand before roster chats refused it (data of an earlier version) leaves it at
    /// the roster's next sync, and the school's audit log says so: nobody is taken out of a chat unseen.
    /// </summary>
    [Fact]
    public async Task HandAddedMemberOfAClassChat_FromAnEarlierVersion_LeavesAtTheNextSync_TheAuditLogSaysSo()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 1);
        var school = room.School;
        var coach = await school.AddVerifiedTeacherAsync("Тренер");
        await app.ExecuteSqlAsync(
            "INSERT INTO chat_members (chat_id, account_id, role, source) VALUES (@chat, @coach, 'member', 'manual')",
            new { chat = room.ChatId, coach = coach.AccountId });
        Assert.Contains(await ChatTitlesAsync(coach, school.Id), t => t == "5А");

        await school.AddStudentAsync("Новенький", room.Class.Id); // any roster change syncs the school

        Assert.DoesNotContain(await ChatTitlesAsync(coach, school.Id), t => t == "5А");
        var audit = await school.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.AuditEventDto>>($"{school.Api}/audit");
        var noted = Assert.Single(audit!, e => e.Action == "chat.member_removed_by_roster");
        Assert.Equal((coach.AccountId, (Guid?)null), (noted.SubjectId!.Value, noted.ActorId));
        Assert.Equal(room.ChatId, System.Text.Json.JsonDocument.Parse(noted.Details).RootElement.GetProperty("chatId").GetGuid());

        // In the log's CSV, in Russian: the chat by its title, the person by name.
        var csv = await school.Admin.Http.GetStringAsync($"{school.Api}/audit.csv");
        var line = Assert.Single(csv.Split('\n'), l => l.Contains("состав которого ведёт школа"));
        Assert.Contains("«5А»", line);
        Assert.Contains("Тренер", line);
    }

    private static async Task<List<string>> ChatTitlesAsync(TestUser who, Guid schoolId) =>
        (await who.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={schoolId}"))!.Select(c => c.Title).ToList();
}
