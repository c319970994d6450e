using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Class chats over the real SignalR client: who gets what, once, in order; catch-up; idempotent resends.</summary>
public sealed class ClassChatStoryTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task PupilWritesInClassChat_EveryMemberGetsItOnceInOrder_NoOneElse()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var masha = await school.AddStudentAsync("Маша", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля", class5B.Id);
        var mother = await school.AddParentAsync("Мама Пети", petya.AccountId);

        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        await using var mashaHub = await HubClient.ConnectAsync(app, masha);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var kolyaHub = await HubClient.ConnectAsync(app, kolya);
        await using var motherHub = await HubClient.ConnectAsync(app, mother);

        // The class chat exists and holds the class's pupils and its class teacher, automatically.
        var petyaChats = await petyaHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id);
        var classChat = Assert.Single(petyaChats, c => c.Kind == "class");
        Assert.Equal("5А", classChat.Title);
        var members = await petyaHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", classChat.Id);
        Assert.Equal(
            new[] { petya.AccountId, masha.AccountId, teacher.AccountId }.Order(),
            members.Select(m => m.AccountId).Order());
        Assert.Equal("moderator", members.Single(m => m.AccountId == teacher.AccountId).Role);

        // The parent is in 5А's parents' chat, automatically, and not in the pupils' chat.
        var motherChats = await motherHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id);
        Assert.Contains(motherChats, c => c.Kind == "parents" && c.ClassId == class5A.Id);
        Assert.DoesNotContain(motherChats, c => c.Id == classChat.Id);

        // Petya sends ten messages; each is acknowledged with the next seq.
        var sent = new List<MessageDto>();
        for (var i = 1; i <= 10; i++)
        {
            sent.Add(await petyaHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(classChat.Id, Guid.NewGuid(), $"Привет, класс! №{i}", null, null)));
        }

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), sent.Select(m => m.Seq));

        // Every member gets each message exactly once, in seq order; the sender gets her own echo too.
        foreach (var hub in new[] { petyaHub, mashaHub, teacherHub })
        {
            await HubClient.EventuallyAsync(() => hub.ReceivedIn(classChat.Id).Count() >= 10, "ten messages");
            await Task.Delay(100);
            Assert.Equal(sent.Select(m => m.Seq), hub.ReceivedIn(classChat.Id).Select(m => m.Seq));
        }

        // Nobody else: not the pupil of 5Б, not the parent.
        Assert.Empty(kolyaHub.ReceivedIn(classChat.Id));
        Assert.Empty(motherHub.ReceivedIn(classChat.Id));

        // A member of another class cannot read or write it either: "chat not found".
        var read = await Assert.ThrowsAsync<HubException>(() => kolyaHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", classChat.Id, null, null));
        Assert.Contains("chat_not_found:", read.Message);
        var write = await Assert.ThrowsAsync<HubException>(() => kolyaHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(classChat.Id, Guid.NewGuid(), "Я не из вашего класса", null, null)));
        Assert.Contains("chat_not_found:", write.Message);
        Assert.Equal(10, (await mashaHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", classChat.Id, null, null)).Count);
    }

    [Fact]
    public async Task ResendWithSameClientId_IsStoredOnce()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        await using var hub = await HubClient.ConnectAsync(app, petya);
        var chat = (await hub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");

        var clientId = Guid.NewGuid();
        var first = await hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, clientId, "Домашка на завтра?", null, null));
        var again = await hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, clientId, "Домашка на завтра?", null, null));
        var parallel = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, clientId, "Домашка на завтра?", null, null))));

        Assert.Equal(first.Seq, again.Seq);
        Assert.All(parallel, m => Assert.Equal(first.Seq, m.Seq));
        var history = await hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chat.Id, null, null);
        Assert.Single(history);
        await HubClient.EventuallyAsync(() => !hub.Received.IsEmpty, "the push");
        await Task.Delay(200);
        Assert.Single(hub.ReceivedIn(chat.Id)); // pushed once, when it was stored
    }

    [Fact]
    public async Task DisconnectedParent_CatchesUpExactlyTheMissedMessages()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var mother = await school.AddParentAsync("Мама Пети", petya.AccountId);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        var parentsChat = (await teacherHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "parents");

        var motherHub = await HubClient.ConnectAsync(app, mother);
        await teacherHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(parentsChat.Id, Guid.NewGuid(), "Собрание в четверг", null, null));
        await HubClient.EventuallyAsync(() => motherHub.ReceivedIn(parentsChat.Id).Any(), "the first message");
        var lastSeen = motherHub.ReceivedIn(parentsChat.Id).Max(m => m.Seq);
        await motherHub.DisposeAsync();

        // While she is offline the teacher writes five more, and edits the first one.
        for (var i = 1; i <= 5; i++)
        {
            await teacherHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(parentsChat.Id, Guid.NewGuid(), $"Пункт повестки {i}", null, null));
        }

        await teacherHub.Connection.InvokeAsync<MessageDto>("EditMessage", parentsChat.Id, 1L, "Собрание в пятницу");

        // Back online: "everything after the seq I saw" returns exactly what she missed, in order, with the edit.
        await using var back = await HubClient.ConnectAsync(app, mother);
        var updates = await back.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", parentsChat.Id, lastSeen, null);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L], updates.Events.Select(e => e.Seq));
        Assert.Equal(["message", "message", "message", "message", "message", "edited"], updates.Events.Select(e => e.Type));
        Assert.Equal("Собрание в пятницу", updates.Events[^1].Message.Text);
        Assert.NotNull(updates.Events[^1].Message.EditedAt);
        Assert.False(updates.HasMore);

        // Paging returns the same events without loss or repetition.
        var paged = new List<ChatEventDto>();
        var after = lastSeen;
        while (true)
        {
            var page = await back.Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", parentsChat.Id, after, 2);
            paged.AddRange(page.Events);
            if (!page.HasMore)
            {
                break;
            }

            after = page.Events[^1].Seq;
        }

        Assert.Equal(updates.Events.Select(e => e.Seq), paged.Select(e => e.Seq));
    }

    [Fact]
    public async Task SchoolChannel_OnlyAdminsPost_EveryMemberReceives()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var mother = await school.AddParentAsync("Мама Пети", petya.AccountId);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);
        await using var motherHub = await HubClient.ConnectAsync(app, mother);
        var channel = (await petyaHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "channel");
        Assert.Equal("Общешкольный канал", channel.Title);
        Assert.False(channel.CanPost);

        var refused = await Assert.ThrowsAsync<HubException>(() =>
            petyaHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(channel.Id, Guid.NewGuid(), "Ура, каникулы!", null, null)));
        Assert.Contains("chat_read_only:", refused.Message);

        var news = await adminHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(channel.Id, Guid.NewGuid(), "Завтра линейка в 9:00", null, null));
        await HubClient.EventuallyAsync(() => petyaHub.ReceivedIn(channel.Id).Any() && motherHub.ReceivedIn(channel.Id).Any(), "the news");
        Assert.Equal(news.Seq, Assert.Single(petyaHub.ReceivedIn(channel.Id)).Seq);
        Assert.Single(await adminHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", channel.Id, null, null));
    }
}
