using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Presence for contacts, the typing indicator and forwarding within one's own chats.</summary>
public sealed class PresenceTypingForwardTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task Presence_ContactOnlineWhileConnected_OutsiderNeverAnsweredFor()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("3А");
        var petya = await school.AddStudentAsync("Петя", cls.Id);
        var masha = await school.AddStudentAsync("Маша", cls.Id);
        var other = await new SchoolBuilder(app).CreateAsync("Другая школа");
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        var mashaHub = await HubClient.ConnectAsync(app, masha);
        await using var outsiderHub = await HubClient.ConnectAsync(app, other.Admin);

        Assert.Equal([masha.AccountId], await petyaHub.Connection.InvokeAsync<List<Guid>>("GetPresence", new[] { masha.AccountId, other.Admin.AccountId }));
        Assert.Empty(await outsiderHub.Connection.InvokeAsync<List<Guid>>("GetPresence", new[] { masha.AccountId }));

        await mashaHub.DisposeAsync();
        await HubClient.EventuallyAsync(
            () => petyaHub.Connection.InvokeAsync<List<Guid>>("GetPresence", new[] { masha.AccountId }).GetAwaiter().GetResult().Count == 0,
            "Masha offline");
    }

    [Fact]
    public async Task Presence_OfAPupilUnderSafeMode_OnlyForClassmatesStaffAndOwnParents_EveryoneWithItOff()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a5 = await school.CreateClassAsync("5А");
        var b5 = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Игорь Петрович");
        var petya = await school.AddStudentAsync("Петя", a5.Id);
        var masha = await school.AddStudentAsync("Маша", a5.Id);
        var kolya = await school.AddStudentAsync("Коля", b5.Id);
        var petyasMother = await school.AddParentAsync("Мама Пети", petya.AccountId);
        var kolyasMother = await school.AddParentAsync("Мама Коли", kolya.AccountId);
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        await using var kolyaHub = await HubClient.ConnectAsync(app, kolya);
        await using var mashaHub = await HubClient.ConnectAsync(app, masha);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var petyasMotherHub = await HubClient.ConnectAsync(app, petyasMother);
        await using var kolyasMotherHub = await HubClient.ConnectAsync(app, kolyasMother);
        Task<List<Guid>> Presence(HubClient hub, params TestUser[] of) =>
            hub.Connection.InvokeAsync<List<Guid>>("GetPresence", of.Select(u => u.AccountId).ToArray());

        // Reading the same channel makes nobody a contact: the school channel's readers are not shown to each other.
        Assert.Empty(await Presence(kolyasMotherHub, petyasMother, teacher));
        Assert.Empty(await Presence(petyasMotherHub, kolyasMother));
        // Its writers (the admin) and its readers are.
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        Assert.Equal([school.Admin.AccountId], await Presence(kolyasMotherHub, school.Admin));
        Assert.Equal([kolyasMother.AccountId], await Presence(adminHub, kolyasMother));

        // A club of the teacher's with pupils of both classes and Коля's mother.
        await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Шахматный кружок", null, null, [petya.AccountId, kolya.AccountId, kolyasMother.AccountId]));

        // Safe mode (the default): Петя is answered for only to his classmate, the staff and his own mother — not to a
        // pupil of another class nor to another pupil's parent, though they share the club.
        Assert.Equal([petya.AccountId], await Presence(mashaHub, petya));
        Assert.Equal([petya.AccountId], await Presence(teacherHub, petya));
        Assert.Equal([petya.AccountId], await Presence(petyasMotherHub, petya));
        Assert.Empty(await Presence(kolyaHub, petya));
        Assert.Empty(await Presence(kolyasMotherHub, petya));
        // Adults are answered for to everyone they share a chat with (where they see each other).
        Assert.Equal([teacher.AccountId], await Presence(kolyasMotherHub, teacher, petya));

        // With safe mode off, anyone sharing a chat with him is answered.
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", region = "Москва", address = "ул. Школьная, 1", pupilSafeMode = false })).EnsureOkAsync();
        Assert.Equal([petya.AccountId], await Presence(kolyasMotherHub, petya));
        Assert.Equal([petya.AccountId], await Presence(kolyaHub, petya));
    }

    [Fact]
    public async Task Typing_ReachesTheOthersInTheChat_NotTheTypist_ThrottledPerConnection()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("3Б");
        var petya = await school.AddStudentAsync("Петя", cls.Id);
        var masha = await school.AddStudentAsync("Маша", cls.Id);
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, masha);
        var chat = (await petyaHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");

        await petyaHub.Connection.InvokeAsync("Typing", chat.Id);
        await petyaHub.Connection.InvokeAsync("Typing", chat.Id); // within the throttle: not sent again
        await HubClient.EventuallyAsync(() => !mashaHub.TypingEvents.IsEmpty, "the typing event");
        await Task.Delay(300);
        var typing = Assert.Single(mashaHub.TypingEvents);
        Assert.Equal((chat.Id, petya.AccountId, "Петя"), (typing.ChatId, typing.AccountId, typing.Name));
        Assert.Empty(petyaHub.TypingEvents);
    }

    /// <summary>Someone who may not write in the chat now — muted or blocked there, or a reader of a channel — is not shown typing.</summary>
    [Fact]
    public async Task Typing_ByAMutedMemberOrAChannelReader_ReachesNobody()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("3В");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", cls.Id);
        var petya = await school.AddStudentAsync("Петя", cls.Id);
        var masha = await school.AddStudentAsync("Маша", cls.Id);
        var kolya = await school.AddStudentAsync("Коля", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, masha);
        await using var kolyaHub = await HubClient.ConnectAsync(app, kolya);
        var chats = await petyaHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id);
        var (classChat, channel) = (chats.Single(c => c.Kind == "class"), chats.Single(c => c.Title == "Общешкольный канал"));
        var rule = (await teacherHub.Connection.InvokeAsync<List<Chat.Hub.Features.Moderation.RuleDto>>("GetRules", school.Id)).First();
        await teacherHub.Connection.InvokeAsync<Chat.Hub.Features.Moderation.RestrictionDto>("MuteMember",
            new Chat.Hub.Features.Moderation.MuteRequest(classChat.Id, petya.AccountId, rule.Id, 60, "Флуд"));

        await petyaHub.Connection.InvokeAsync("Typing", classChat.Id);
        await petyaHub.Connection.InvokeAsync("Typing", channel.Id);
        await kolyaHub.Connection.InvokeAsync("Typing", classChat.Id); // the control: Kolya may write
        await HubClient.EventuallyAsync(() => mashaHub.TypingEvents.Any(t => t.AccountId == kolya.AccountId), "Kolya's typing");
        await Task.Delay(300);
        Assert.DoesNotContain(mashaHub.TypingEvents, t => t.AccountId == petya.AccountId);
        Assert.DoesNotContain(teacherHub.TypingEvents, t => t.AccountId == petya.AccountId);
    }

    [Fact]
    public async Task ForwardMessage_IntoAnotherOfMyChats_CarriesWhereItCameFrom_NotIntoChatsImNotIn()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("4А");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", cls.Id);
        var pupil = await school.AddStudentAsync("Ученик", cls.Id);
        var parent = await school.AddParentAsync("Родитель", pupil.AccountId);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var parentHub = await HubClient.ConnectAsync(app, parent);
        var chats = await teacherHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id);
        var classChat = chats.Single(c => c.Kind == "class");
        var parentsChat = chats.Single(c => c.Kind == "parents");
        var original = await teacherHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(classChat.Id, Guid.NewGuid(), "Завтра экскурсия в музей", null, null));

        var forwarded = await teacherHub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(classChat.Id, original.Seq, parentsChat.Id, Guid.NewGuid()));
        Assert.Equal("Завтра экскурсия в музей", forwarded.Text);
        Assert.Equal("4А", forwarded.ForwardedFrom!.Value.GetProperty("chatTitle").GetString());
        await HubClient.EventuallyAsync(() => parentHub.ReceivedIn(parentsChat.Id).Any(), "the parent gets the forwarded message");

        // A forward shows the original's words under its author's name: the one who forwarded cannot change them; her own
        // message she still edits.
        await teacherHub.Connection.InvokeAsync<MessageDto>("EditMessage", parentsChat.Id, forwarded.Seq, "Экскурсия отменена")
            .ExpectHubErrorAsync("forward_not_editable");
        Assert.Equal("Завтра экскурсия в музей", (await teacherHub.HistoryAsync(parentsChat.Id)).Single(m => m.Seq == forwarded.Seq).Text);
        Assert.Equal("Завтра экскурсия в музей, сбор в 9:00",
            (await teacherHub.Connection.InvokeAsync<MessageDto>("EditMessage", classChat.Id, original.Seq, "Завтра экскурсия в музей, сбор в 9:00")).Text);

        // The parent is not in the class chat: nothing of it can be forwarded by them.
        await parentHub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(classChat.Id, original.Seq, parentsChat.Id, Guid.NewGuid()))
            .ExpectHubErrorAsync("chat_not_found");
    }
}
