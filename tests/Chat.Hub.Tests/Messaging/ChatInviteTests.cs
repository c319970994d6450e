using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Joining a chat by link is voluntary, shows the rules, stores the accepted version, and stays inside the school.</summary>
public sealed class ChatInviteTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task ChatLink_ShowsRules_JoinRequiresAcceptingCurrentVersion_OutsidersRefused()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("6А");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель математики", cls.Id);
        var pupil = await school.AddStudentAsync("Ученик", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        var chat = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Математика 6А", cls.Id, "Только вопросы по математике. Без оскорблений.", null));

        var link = await (await teacher.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { expiresInHours = 24 })).ReadAsync<InviteDto>();
        Assert.Equal("chat", link.Role);

        // The pupil sees the chat's title and rules before joining.
        var preview = await pupil.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{link.Token}");
        Assert.Equal(("Математика 6А", "Только вопросы по математике. Без оскорблений.", 1), (preview!.ChatTitle, preview.ChatRules, preview.RulesVersion));

        // Joining without accepting the rules is refused; accepting the shown version joins.
        await (await pupil.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { })).ExpectErrorAsync(HttpStatusCode.Conflict, "rules_not_accepted");
        var joined = await (await pupil.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 })).ReadAsync<AcceptInviteResult>();
        Assert.Equal(chat.Id, joined.ChatId);
        await using var pupilHub = await HubClient.ConnectAsync(app, pupil);
        var mine = (await pupilHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Id == chat.Id);
        Assert.True(mine.RulesAccepted);

        // Someone of another school holding the link cannot get in, nor learn what the chat is.
        var other = await new SchoolBuilder(app).CreateAsync("Другая школа");
        var outsider = await (await other.Admin.Http.GetAsync($"/api/invites/{link.Token}")).ExpectErrorAsync(HttpStatusCode.Forbidden, "chat_invite_outsider");
        Assert.DoesNotContain("Математика", System.Text.Json.JsonSerializer.Serialize(outsider), StringComparison.Ordinal);
        await (await other.Admin.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "chat_invite_outsider");

        // Class chats follow the roster: no links into them.
        var classChat = (await teacherHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");
        await (await teacher.Http.PostAsJsonAsync($"/api/chats/{classChat.Id}/invites", new { })).ExpectErrorAsync(HttpStatusCode.Conflict, "chat_invite_not_allowed");
    }

    /// <summary>
    /// A pupil made a moderator of a teacher's group chat moderates it, but bringing people in (adding them, making a link)
    /// stays with staff: otherwise any adult of the school could be let into a chat with children.
    /// </summary>
    [Fact]
    public async Task PupilModeratorOfAGroupChat_CannotAddPeopleOrMakeALink_TheTeacherCan()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("9А");
        var teacher = await school.AddVerifiedTeacherAsync("Руководитель хора", cls.Id);
        var pupil = await school.AddStudentAsync("Староста", cls.Id);
        var classmate = await school.AddStudentAsync("Одноклассник", cls.Id);
        var otherClass = await school.CreateClassAsync("5В");
        var stranger = await school.AddParentAsync("Чужой родитель", (await school.AddStudentAsync("Малыш", otherClass.Id)).AccountId);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var pupilHub = await HubClient.ConnectAsync(app, pupil);
        var chat = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Хор", null, null, null));
        Assert.Equal(1, await teacherHub.Connection.InvokeAsync<int>("AddChatMembers", chat.Id, new[] { pupil.AccountId }));
        await teacherHub.Connection.InvokeAsync("SetChatMemberRole", chat.Id, pupil.AccountId, "moderator");

        var refused = await pupilHub.Connection.InvokeAsync<int>("AddChatMembers", chat.Id, new[] { stranger.AccountId }).ExpectHubErrorAsync("add_member_not_allowed");
        Assert.Contains("только сотрудники школы", HubCalls.ServerMessage(refused), StringComparison.Ordinal);
        await (await pupil.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { })).ExpectErrorAsync(HttpStatusCode.Forbidden, "add_member_not_allowed");
        var members = await teacherHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", chat.Id);
        Assert.DoesNotContain(members, m => m.AccountId == stranger.AccountId);

        // The teacher still brings people in.
        Assert.Equal(1, await teacherHub.Connection.InvokeAsync<int>("AddChatMembers", chat.Id, new[] { classmate.AccountId }));
        var link = await (await teacher.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { })).ReadAsync<InviteDto>();

        // Nor can the pupil moderator read the teacher's link (its token, its QR code) to hand it to someone, or revoke it.
        await (await pupil.Http.GetAsync($"/api/chats/{chat.Id}/invites")).ExpectErrorAsync(HttpStatusCode.Forbidden, "add_member_not_allowed");
        await (await pupil.Http.GetAsync($"/api/chats/{chat.Id}/invites/{link.Id}/qr")).ExpectErrorAsync(HttpStatusCode.Forbidden, "add_member_not_allowed");
        await (await pupil.Http.DeleteAsync($"/api/chats/{chat.Id}/invites/{link.Id}")).ExpectErrorAsync(HttpStatusCode.Forbidden, "add_member_not_allowed");
        Assert.Equal("active", Assert.Single(await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/invites")).ReadAsync<List<InviteDto>>()).State);
    }

    /// <summary>A chat's link works on its maker's authority: once the teacher who made it has left the school, it lets nobody in.</summary>
    [Fact]
    public async Task ChatLink_ItsMakerLeftTheSchool_LetsNobodyIn_AndNamesNoChat()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("10А");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель физики");
        var early = await school.AddStudentAsync("Успел", cls.Id);
        var late = await school.AddStudentAsync("Не успел", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        var chat = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Физика: подготовка к олимпиаде", null, null, null));
        var link = await (await teacher.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { })).ReadAsync<InviteDto>();
        await (await early.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 })).EnsureOkAsync();

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/staff/{teacher.AccountId}/leave", new { reason = "Перевод" })).EnsureOkAsync();

        var preview = await late.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{link.Token}");
        Assert.Equal(("revoked", null), (preview!.State, preview.ChatTitle));
        await (await late.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 })).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
    }

    /// <summary>A co-moderator's link stops working when the owner makes her a plain member: listed as revoked, refused.</summary>
    [Fact]
    public async Task ChatLink_ItsMakerDemotedToMember_IsListedRevoked_AndRefused()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("10Б");
        var owner = await school.AddVerifiedTeacherAsync("Руководитель театра");
        var colleague = await school.AddVerifiedTeacherAsync("Помощник режиссёра");
        var pupil = await school.AddStudentAsync("Актёр", cls.Id);
        await using var ownerHub = await HubClient.ConnectAsync(app, owner);
        var chat = await ownerHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "group", "Театр", null, null, null));
        await ownerHub.Connection.InvokeAsync<int>("AddChatMembers", chat.Id, new[] { colleague.AccountId });
        await ownerHub.Connection.InvokeAsync("SetChatMemberRole", chat.Id, colleague.AccountId, "moderator");
        var link = await (await colleague.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { })).ReadAsync<InviteDto>();
        Assert.Equal("active", (await pupil.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{link.Token}"))!.State);

        await ownerHub.Connection.InvokeAsync("SetChatMemberRole", chat.Id, colleague.AccountId, "member");

        Assert.Equal("revoked", (await (await owner.Http.GetAsync($"/api/chats/{chat.Id}/invites")).ReadAsync<List<InviteDto>>()).Single().State);
        Assert.Equal("revoked", (await pupil.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{link.Token}"))!.State);
        await (await pupil.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 })).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
    }

    /// <summary>
    /// A chat's link belongs to the chat's moderators: it is not among the school's links, so an admin who is not in the
    /// chat cannot take its token (and join without a logged moderation case); a link that no longer works names no chat.
    /// </summary>
    [Fact]
    public async Task ChatLink_NotAmongTheSchoolsLinks_AdminCannotTakeItsToken_ADeadLinkNamesNoChat()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("8Б");
        var teacher = await school.AddVerifiedTeacherAsync("Руководитель театра", cls.Id);
        var pupil = await school.AddStudentAsync("Ученица", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        var chat = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Театральная студия", null, "Только о репетициях.", null));
        var link = await (await teacher.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { })).ReadAsync<InviteDto>();
        var schoolLink = await school.InviteAsync(school.Admin, "parent", cls.Id);

        var listed = await (await school.Admin.Http.GetAsync($"{school.Api}/invites")).ReadAsync<List<InviteDto>>();
        Assert.Contains(listed, i => i.Id == schoolLink.Id);
        Assert.DoesNotContain(listed, i => i.Id == link.Id || i.Token == link.Token);
        await (await school.Admin.Http.GetAsync($"{school.Api}/invites/{link.Id}/qr")).ExpectErrorAsync(HttpStatusCode.NotFound, "invite_not_found");
        await (await school.Admin.Http.DeleteAsync($"{school.Api}/invites/{link.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "invite_not_found");

        // «Отозвать неиспользованные» revokes the school's links it lists, not the chat's.
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/invites/revoke-unused", new { })).EnsureOkAsync();
        Assert.Equal("revoked", (await (await school.Admin.Http.GetAsync($"{school.Api}/invites")).ReadAsync<List<InviteDto>>()).Single(i => i.Id == schoolLink.Id).State);
        Assert.Equal("active", (await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/invites")).ReadAsync<List<InviteDto>>()).Single().State);

        // Revoked: whoever still holds it learns that it no longer works, not which chat it led to nor its rules.
        await (await teacher.Http.DeleteAsync($"/api/chats/{chat.Id}/invites/{link.Id}")).EnsureOkAsync();
        var preview = await pupil.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{link.Token}");
        Assert.Equal(("revoked", null, null, null), (preview!.State, preview.ChatId, preview.ChatTitle, preview.ChatRules));
    }

    [Fact]
    public async Task ChatLink_RevokedByOwner_NotByMemberOrOutsider_CannotBeAccepted_JoinedMemberStays()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("7В");
        var teacher = await school.AddVerifiedTeacherAsync("Руководитель кружка", cls.Id);
        var early = await school.AddStudentAsync("Вступил раньше", cls.Id);
        var late = await school.AddStudentAsync("Опоздал", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        var chat = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Кружок робототехники", null, "Только о кружке.", null));
        var link = await (await teacher.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/invites", new { maxUses = 30 })).ReadAsync<InviteDto>();
        await (await early.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 })).EnsureOkAsync();

        // A plain member of the chat, someone of another school and a link of another chat are refused.
        await (await early.Http.DeleteAsync($"/api/chats/{chat.Id}/invites/{link.Id}")).ExpectErrorAsync(HttpStatusCode.Forbidden, "moderator_only");
        var other = await new SchoolBuilder(app).CreateAsync("Другая школа");
        await (await other.Admin.Http.DeleteAsync($"/api/chats/{chat.Id}/invites/{link.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        var otherChat = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Шахматы", null, null, null));
        await (await teacher.Http.DeleteAsync($"/api/chats/{otherChat.Id}/invites/{link.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "invite_not_found");
        Assert.Equal("active", (await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/invites")).ReadAsync<List<InviteDto>>()).Single().State);

        // The owner revokes it; again is harmless and audited once.
        var revoked = await (await teacher.Http.DeleteAsync($"/api/chats/{chat.Id}/invites/{link.Id}")).ReadAsync<InviteDto>();
        Assert.Equal(("revoked", 1), (revoked.State, revoked.Uses));
        Assert.Equal("revoked", (await (await teacher.Http.DeleteAsync($"/api/chats/{chat.Id}/invites/{link.Id}")).ReadAsync<InviteDto>()).State);
        Assert.Equal("revoked", (await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/invites")).ReadAsync<List<InviteDto>>()).Single().State);
        var audit = await (await school.Admin.Http.GetAsync($"{school.Api}/audit")).ReadAsync<List<AuditEventDto>>();
        var entry = Assert.Single(audit, e => e.Action == "chat_invite.revoked");
        Assert.Equal((teacher.AccountId, link.Id), (entry.ActorId!.Value, entry.SubjectId!.Value));

        // Nobody joins by it any more: the preview says so and accepting is refused; who joined before stays.
        Assert.Equal("revoked", (await late.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{link.Token}"))!.State);
        await (await late.Http.PostAsJsonAsync($"/api/invites/{link.Token}/accept", new { acceptRulesVersion = 1 })).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
        var members = await teacherHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", chat.Id);
        Assert.Contains(members, m => m.AccountId == early.AccountId);
        Assert.DoesNotContain(members, m => m.AccountId == late.AccountId);
    }

    [Fact]
    public async Task ChannelOwner_LetsATeacherPost_AdministrationChatHoldsAdminsAndDirector()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var teacher = await school.AddVerifiedTeacherAsync("Завуч");
        await (await school.Admin.Http.PutAsync($"{school.Api}/directors/{teacher.AccountId}", null)).EnsureOkAsync();
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);

        var chats = await adminHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id);
        var administration = chats.Single(c => c.Title == "Администрация");
        var members = await adminHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", administration.Id);
        Assert.Equal(new[] { school.Admin.AccountId, teacher.AccountId }.Order(), members.Select(m => m.AccountId).Order());
        Assert.Equal("owner", members.Single(m => m.AccountId == teacher.AccountId).Role);

        var staffChannel = chats.Single(c => c.Title == "Сотрудники");
        var refused = await Assert.ThrowsAsync<HubException>(() =>
            teacherHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(staffChannel.Id, Guid.NewGuid(), "Педсовет в пятницу", null, null)));
        Assert.Contains("chat_read_only:", refused.Message);

        await adminHub.Connection.InvokeAsync("SetChatMemberRole", staffChannel.Id, teacher.AccountId, "moderator");
        var posted = await teacherHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(staffChannel.Id, Guid.NewGuid(), "Педсовет в пятницу", null, null));
        Assert.Equal(1, posted.Seq);
    }
}
