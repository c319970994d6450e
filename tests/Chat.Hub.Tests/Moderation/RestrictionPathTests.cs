using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Files;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Features.Polls;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Moderation;

/// <summary>
/// test-plan item 23 and the rest of the moderator's tools: a blocked member can do nothing in that chat through any
/// path (messages, reactions, polls, files, calls; hub and HTTP) yet reads it and acts elsewhere; muting for minutes;
/// removing a member needs a rule and only applies to hand-managed chats; reminding of the rules.
/// </summary>
public sealed class RestrictionPathTests(ChatApp app) : IClassFixture<ChatApp>
{
    /// <summary>5А with its class teacher, Петя and Маша connected, a rule of the school, and a club (a hand-managed group chat) of the two.</summary>
    private sealed record Scene(ClassRoom Room, HubClient Teacher, HubClient Petya, HubClient Masha, RuleDto Rule, Guid ClubId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Teacher.DisposeAsync();
            await Petya.DisposeAsync();
            await Masha.DisposeAsync();
        }
    }

    private async Task<Scene> SceneAsync()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var petya = await HubClient.ConnectAsync(app, room.Petya);
        var masha = await HubClient.ConnectAsync(app, room.Masha);
        var rule = (await teacher.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        var club = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(room.School.Id, "group", "Шахматный кружок", null, null, [room.Petya.AccountId, room.Masha.AccountId]));
        return new Scene(room, teacher, petya, masha, rule, club.Id);
    }

    [Fact]
    public async Task BlockedMember_EveryWritePathInThatChat_MemberBlocked_ReadsIt_OtherChatsUnaffected()
    {
        await using var s = await SceneAsync();
        var chatId = s.Room.ChatId;

        // Before the block: his own message, a poll and a call in the class chat, a message of his in the club, an upload.
        var own = await s.Petya.SendAsync(chatId, "Моё сообщение");
        var inClub = await s.Petya.SendAsync(s.ClubId, "Сообщение в кружке");
        var poll = await s.Teacher.Connection.InvokeAsync<MessageDto>("CreatePoll",
            new CreatePollRequest(chatId, Guid.NewGuid(), "Когда контрольная?", ["Вторник", "Среда"], false, false, false, null, null));
        var call = await s.Teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", chatId, true);
        using var upload = new ByteArrayContent("Мой доклад"u8.ToArray());
        var file = await (await s.Room.Petya.Http.PostAsync($"{s.Room.School.Api}/files?name=doklad.txt&uploadId={Guid.NewGuid()}", upload)).ReadAsync<FileDto>();

        await Moderate.BlockAsync(s.Teacher.Connection, chatId, s.Room.Petya.AccountId, s.Rule.Id, DateTimeOffset.UtcNow.AddDays(7), "Флуд");

        // Through the hub.
        var hub = s.Petya.Connection;
        var refused = new (string What, Func<Task> Call)[]
        {
            ("send", () => s.Petya.SendAsync(chatId, "Можно?")),
            ("edit", () => hub.InvokeAsync<MessageDto>("EditMessage", chatId, own.Seq, "Исправил")),
            ("delete", () => hub.InvokeAsync<MessageDto>("DeleteMessage", chatId, own.Seq)),
            ("react", () => hub.InvokeAsync<MessageDto>("React", chatId, own.Seq, "👍", true)),
            ("forward", () => hub.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(s.ClubId, inClub.Seq, chatId, Guid.NewGuid()))),
            ("create poll", () => hub.InvokeAsync<MessageDto>("CreatePoll", new CreatePollRequest(chatId, Guid.NewGuid(), "Опрос?", ["Да", "Нет"], false, false, false, null, null))),
            ("vote", () => hub.InvokeAsync<PollDto>("Vote", chatId, poll.Seq, new[] { 0 })),
            ("retract", () => hub.InvokeAsync<PollDto>("RetractVote", chatId, poll.Seq)),
            ("send files", () => hub.InvokeAsync<MessageDto>("SendFiles", new SendFilesRequest(chatId, Guid.NewGuid(), [file.Id], "Доклад"))),
            ("join call", () => hub.InvokeAsync<CallJoinDto>("JoinCall", call.Call.CallId)),
            ("start call", () => hub.InvokeAsync<CallJoinDto>("StartCall", chatId, false)),
        };
        foreach (var (what, call2) in refused)
        {
            var error = await call2().ExpectHubErrorAsync("member_blocked");
            Assert.True(error.Message.Contains("заблокированы", StringComparison.Ordinal), what);
        }

        // Through HTTP.
        var http = s.Room.Petya.Http;
        await (await http.PostAsJsonAsync($"/api/chats/{chatId}/messages", new { clientId = Guid.NewGuid(), text = "Через HTTP" })).ExpectErrorAsync(HttpStatusCode.Forbidden, "member_blocked");
        await (await http.PostAsJsonAsync($"/api/chats/{chatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { file.Id } })).ExpectErrorAsync(HttpStatusCode.Forbidden, "member_blocked");
        await (await http.PutAsJsonAsync($"/api/chats/{chatId}/polls/{poll.Seq}/vote", new { optionIds = new[] { 1 } })).ExpectErrorAsync(HttpStatusCode.Forbidden, "member_blocked");
        await (await http.PostAsJsonAsync($"/api/chats/{chatId}/polls", new { clientId = Guid.NewGuid(), question = "Опрос?", options = new[] { "Да", "Нет" } })).ExpectErrorAsync(HttpStatusCode.Forbidden, "member_blocked");

        // Nothing of that reached the chat; he still reads it, and in the club he writes as before.
        var history = await s.Petya.HistoryAsync(chatId);
        Assert.Equal([own.Seq, poll.Seq], history.Select(m => m.Seq));
        Assert.Equal("Моё сообщение", history[0].Text);
        Assert.Equal(0, (await s.Teacher.Connection.InvokeAsync<PollDto>("GetPoll", chatId, poll.Seq)).Options.Sum(o => o.Votes));
        Assert.DoesNotContain((await s.Teacher.Connection.InvokeAsync<CallDto>("GetCall", call.Call.CallId)).Participants, p => p.AccountId == s.Room.Petya.AccountId);
        var elsewhere = await s.Petya.SendAsync(s.ClubId, "А здесь можно");
        Assert.Equal(2, elsewhere.Seq);
    }

    [Fact]
    public async Task MuteForMinutes_NeedsRuleAndAtMostADay_MutedCannotSend_UnmuteLifts()
    {
        await using var s = await SceneAsync();
        var masha = s.Room.Masha.AccountId;
        var restricted = new TaskCompletionSource<RestrictionDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        s.Masha.Connection.On<RestrictionDto>("RestrictionChanged", r => restricted.TrySetResult(r));

        await s.Teacher.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(s.Room.ChatId, masha, Guid.Empty, 30, "Флуд")).ExpectHubErrorAsync("rule_required");
        await s.Teacher.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(s.Room.ChatId, masha, s.Rule.Id, 25 * 60, "Флуд")).ExpectHubErrorAsync("mute_too_long");
        await s.Teacher.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(s.Room.ChatId, masha, s.Rule.Id, 0, "Флуд")).ExpectHubErrorAsync("mute_too_long");
        await s.Petya.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(s.Room.ChatId, masha, s.Rule.Id, 30, "Флуд")).ExpectHubErrorAsync("moderator_only");
        await s.Teacher.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(s.Room.ChatId, s.Room.Teacher.AccountId, s.Rule.Id, 30, "Флуд")).ExpectHubErrorAsync("cannot_moderate_moderator");

        // Muting needs no earlier violations; it lasts minutes and she learns why and until when.
        var mute = await s.Teacher.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(s.Room.ChatId, masha, s.Rule.Id, 30, "Флуд на уроке"));
        Assert.Equal("mute", mute.Kind);
        Assert.InRange(mute.EndsAt, DateTime.UtcNow.AddMinutes(29), DateTime.UtcNow.AddMinutes(31));
        Assert.Equal("mute", (await restricted.Task.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        await s.Masha.SendAsync(s.Room.ChatId, "Ну пожалуйста").ExpectHubErrorAsync("member_muted");
        Assert.Equal("mute", (await s.Masha.Connection.InvokeAsync<RestrictionDto?>("GetMyRestriction", s.Room.ChatId))!.Kind);
        Assert.Single(await s.Teacher.Connection.InvokeAsync<List<RestrictionDto>>("GetRestrictions", s.Room.ChatId));
        await s.Masha.SendAsync(s.ClubId, "В кружке можно");

        await s.Teacher.Connection.InvokeAsync<RestrictionDto>("UnmuteMember", s.Room.ChatId, masha);
        Assert.Equal(1, (await s.Masha.SendAsync(s.Room.ChatId, "Спасибо")).Seq);
        var audit = await s.Room.School.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{s.Room.School.Api}/audit");
        Assert.Contains(audit!, e => e.Action.StartsWith("moderation.mute", StringComparison.Ordinal) && e.SubjectId == masha);
    }

    [Fact]
    public async Task RemoveChatMember_NeedsRule_OnlyInHandManagedChats_RemovedStopsReceiving_RemindRulesPostsThem()
    {
        await using var s = await SceneAsync();
        var petya = s.Room.Petya.AccountId;

        await s.Teacher.Connection.InvokeAsync("RemoveChatMember", new RemoveMemberRequest(s.ClubId, petya, Guid.Empty, "Мешает")).ExpectHubErrorAsync("rule_required");
        await s.Teacher.Connection.InvokeAsync("RemoveChatMember", new RemoveMemberRequest(s.Room.ChatId, petya, s.Rule.Id, "Мешает")).ExpectHubErrorAsync("roster_member_removal");
        await s.Masha.Connection.InvokeAsync("RemoveChatMember", new RemoveMemberRequest(s.ClubId, petya, s.Rule.Id, "Мешает")).ExpectHubErrorAsync("moderator_only");

        await s.Teacher.Connection.InvokeAsync("RemoveChatMember", new RemoveMemberRequest(s.ClubId, petya, s.Rule.Id, "Оскорблял участников"));
        await HubClient.EventuallyAsync(() => s.Petya.Memberships.Contains((s.ClubId, false)), "Petya's live connection leaves the club");
        await s.Masha.SendAsync(s.ClubId, "Без Пети");
        await s.Petya.HistoryAsync(s.ClubId).ExpectHubErrorAsync("chat_not_found");
        await Task.Delay(300);
        Assert.DoesNotContain(s.Petya.Received, m => m.ChatId == s.ClubId);
        var audit = await s.Room.School.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{s.Room.School.Api}/audit");
        Assert.Contains(audit!, e => e.Action.Contains("remove", StringComparison.Ordinal) && e.SubjectId == petya && e.Details.Contains("Оскорблял", StringComparison.Ordinal));

        // Reminding of the rules: a system message with the school's rules, by moderators only.
        await s.Masha.Connection.InvokeAsync<MessageDto>("RemindRules", s.Room.ChatId, Guid.NewGuid()).ExpectHubErrorAsync("moderator_only");
        await s.Teacher.Connection.InvokeAsync<MessageDto>("RemindRules", s.Room.ChatId, Guid.Empty).ExpectHubErrorAsync("validation_failed");
        var reminder = await s.Teacher.Connection.InvokeAsync<MessageDto>("RemindRules", s.Room.ChatId, Guid.NewGuid());
        Assert.Equal("system", reminder.Kind);
        Assert.Contains(s.Rule.Text[..20], reminder.Text, StringComparison.Ordinal);
        await HubClient.EventuallyAsync(() => s.Masha.ReceivedIn(s.Room.ChatId).Any(m => m.Seq == reminder.Seq), "the reminder reaches the class");
    }
}
