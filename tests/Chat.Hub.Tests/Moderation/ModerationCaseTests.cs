using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Moderation;

/// <summary>
/// An admin's moderation case as the web client uses it: the school's chats with the admin's role and open case in each
/// (<c>GET …/chats</c>), the case's end from opening it, and the chat itself (<c>GetChat</c>) read without being a member.
/// </summary>
public sealed class ModerationCaseTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task Admin_ListsSchoolChats_OpensCase_ReadsTheChatAsModeratorUntilItsEnd()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var direct = await petya.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", school.Id, room.Masha.AccountId);
        await petya.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "Всем привет", null, null));
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);

        // The list: the school's chats but direct ones; the admin is not in the class chat and has no case on it.
        await (await room.Teacher.Http.GetAsync($"{school.Api}/chats")).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        var chats = await (await school.Admin.Http.GetAsync($"{school.Api}/chats")).ReadAsync<List<SchoolChatDto>>();
        Assert.DoesNotContain(chats, c => c.Id == direct.Id || c.Kind == "direct");
        var cls = chats.Single(c => c.Id == room.ChatId);
        Assert.Equal(("class", room.Class.Id, false, 3, (string?)null, (DateTime?)null), (cls.Kind, cls.ClassId, cls.Archived, cls.MemberCount, cls.MyRole, cls.CaseUntil));
        Assert.Contains(chats, c => c.Kind == "channel" && c.MyRole == "owner");
        var closed = await Assert.ThrowsAsync<HubException>(() => admin.Connection.InvokeAsync<ChatDetailsDto>("GetChat", room.ChatId));
        Assert.Contains("chat_not_found:", closed.Message);

        // Opening the case gives its end; the list and the chat say it.
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats/{room.ChatId}/moderation-cases", new { reason = "  " }))
            .ExpectErrorAsync(HttpStatusCode.BadRequest, "reason_required");
        var opened = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats/{room.ChatId}/moderation-cases", new { reason = "Жалоба родителя" }))
            .ReadAsync<OpenCaseDto>();
        Assert.Equal(room.ChatId, opened.ChatId);
        Assert.InRange(opened.ClosesAt, DateTime.UtcNow.AddHours(24).AddMinutes(-1), DateTime.UtcNow.AddHours(24).AddMinutes(1));
        var listed = (await (await school.Admin.Http.GetAsync($"{school.Api}/chats")).ReadAsync<List<SchoolChatDto>>()).Single(c => c.Id == room.ChatId);
        Assert.Equal(opened.ClosesAt, listed.CaseUntil!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Null(listed.MyRole);

        var details = await admin.Connection.InvokeAsync<ChatDetailsDto>("GetChat", room.ChatId);
        Assert.Equal(opened.ClosesAt, details.CaseUntil!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal((room.ChatId, "moderator", 3, 0, false, true), (details.Chat.Id, details.Chat.Role, details.Chat.MemberCount, details.Chat.UnreadCount, details.Chat.CanPost, details.Chat.RulesAccepted));
        // A case is for moderating, not for taking part: the admin does not post there (and is told so by canPost).
        await admin.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(room.ChatId, Guid.NewGuid(), "Я тоже тут", null, null)).ExpectHubErrorAsync("chat_not_found");
        // Nor reacts or starts a call in it: every way of taking part is the members'.
        var last = details.Chat.LastMessage!;
        await admin.Connection.InvokeAsync<MessageDto>("React", room.ChatId, last.Seq, "👍", true).ExpectHubErrorAsync("chat_not_found");
        await admin.Connection.InvokeAsync<Chat.Hub.Features.Calls.CallJoinDto>("StartCall", room.ChatId, false).ExpectHubErrorAsync("chat_not_found");
        Assert.Equal("Всем привет", details.Chat.LastMessage?.Text);
        Assert.Equal(details.Chat.LastSeq, details.Chat.ReadSeq);
        Assert.DoesNotContain(await admin.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id), c => c.Id == room.ChatId);

        // Members see no case end; the audit log names the chat, the reason and the end.
        Assert.Null((await petya.Connection.InvokeAsync<ChatDetailsDto>("GetChat", room.ChatId)).CaseUntil);
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        var logged = Assert.Single(audit!, e => e.Action == "moderation.case_opened");
        Assert.Equal(room.ChatId, logged.SubjectId);
        Assert.Contains("Жалоба родителя", logged.Details, StringComparison.Ordinal);
        Assert.Contains(room.Class.Name, logged.Details, StringComparison.Ordinal);
        Assert.Contains("closesAt", logged.Details, StringComparison.Ordinal);

        // When the case ends, the chat is closed to the admin again and the list shows no case.
        await app.ExecuteSqlAsync("UPDATE moderation_cases SET closes_at = now() - interval '1 second' WHERE chat_id = @chatId", new { chatId = room.ChatId });
        var ended = await Assert.ThrowsAsync<HubException>(() => admin.Connection.InvokeAsync<ChatDetailsDto>("GetChat", room.ChatId));
        Assert.Contains("chat_not_found:", ended.Message);
        Assert.Null((await (await school.Admin.Http.GetAsync($"{school.Api}/chats")).ReadAsync<List<SchoolChatDto>>()).Single(c => c.Id == room.ChatId).CaseUntil);
    }

    [Fact]
    public async Task AdminWithCase_ForwardsNothingOutOfTheChat()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var secret = await petya.SendAsync(room.ChatId, "Только для нашего класса");
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        var schoolChannel = (await admin.ChatsAsync(school.Id)).Single(c => c.Title == "Общешкольный канал");
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats/{room.ChatId}/moderation-cases", new { reason = "Жалоба родителя" })).EnsureOkAsync();
        Assert.Contains(await admin.HistoryAsync(room.ChatId), m => m.Seq == secret.Seq);

        // The case lets her read the class chat to moderate it, not copy the children's messages to the whole school.
        await admin.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(room.ChatId, secret.Seq, schoolChannel.Id, Guid.NewGuid()))
            .ExpectHubErrorAsync("chat_not_found");
        Assert.DoesNotContain(await admin.HistoryAsync(schoolChannel.Id), m => m.Text == secret.Text);

        // A member forwards from the chat as before.
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var forwarded = await teacher.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(room.ChatId, secret.Seq, room.ChatId, Guid.NewGuid()));
        Assert.Equal(secret.Text, forwarded.Text);
    }

    /// <summary>
    /// A case lets the admin moderate a hand-made group, not manage who is in it: she can neither add anyone (herself
    /// included) nor see or make its invite links, so the case cannot become a lasting, unlogged place in the chat.
    /// </summary>
    [Fact]
    public async Task AdminWithCase_CannotAddMembersOrManageInviteLinks()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var group = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Кружок", null, null, [room.Petya.AccountId]));
        var link = await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{group.Id}/invites", new { })).ReadAsync<Chat.Hub.Features.Invites.InviteDto>();
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats/{group.Id}/moderation-cases", new { reason = "Жалоба родителя" })).EnsureOkAsync();
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        Assert.Equal("moderator", (await admin.Connection.InvokeAsync<ChatDetailsDto>("GetChat", group.Id)).Chat.Role); // she moderates

        await admin.Connection.InvokeAsync<int>("AddChatMembers", group.Id, new[] { school.Admin.AccountId }).ExpectHubErrorAsync("moderator_only");
        await (await school.Admin.Http.GetAsync($"/api/chats/{group.Id}/invites")).ExpectErrorAsync(HttpStatusCode.Forbidden, "moderator_only");
        await (await school.Admin.Http.PostAsJsonAsync($"/api/chats/{group.Id}/invites", new { })).ExpectErrorAsync(HttpStatusCode.Forbidden, "moderator_only");
        await (await school.Admin.Http.DeleteAsync($"/api/chats/{group.Id}/invites/{link.Id}")).ExpectErrorAsync(HttpStatusCode.Forbidden, "moderator_only");
        Assert.DoesNotContain(await teacher.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", group.Id), m => m.AccountId == school.Admin.AccountId);

        // The owner still manages them.
        Assert.Single(await room.Teacher.Http.GetFromJsonAsync<List<Chat.Hub.Features.Invites.InviteDto>>($"/api/chats/{group.Id}/invites") ?? []);
    }
}
