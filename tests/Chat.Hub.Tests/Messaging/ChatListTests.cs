using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>My chats: sorted by activity with pinned ones first, muting; the director's councils across classes.</summary>
public sealed class ChatListTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task ChatList_ByActivity_PinnedFirst_MuteAndUnmute_PerPerson()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var chess = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(room.School.Id, "group", "Шахматы", null, null, [room.Petya.AccountId]));
        var choir = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(room.School.Id, "group", "Хор", null, null, [room.Petya.AccountId]));
        await teacher.SendAsync(room.ChatId, "Завтра контрольная");
        await teacher.SendAsync(chess.Id, "Турнир в субботу");
        await teacher.SendAsync(choir.Id, "Репетиция в пятницу");

        // Newest activity first; the last message and the unread count come with each chat.
        var ids = (await petya.ChatsAsync(room.School.Id)).Select(c => c.Id).ToList();
        Assert.True(ids.IndexOf(choir.Id) < ids.IndexOf(chess.Id) && ids.IndexOf(chess.Id) < ids.IndexOf(room.ChatId), string.Join(", ", ids));
        var choirSummary = await petya.ChatAsync(room.School.Id, choir.Id);
        Assert.Equal(("Репетиция в пятницу", 1), (choirSummary.LastMessage!.Text, choirSummary.UnreadCount));
        // Each chat gets its own newest message (the list reads them all in one statement).
        var lastTexts = (await petya.ChatsAsync(room.School.Id)).Where(c => c.LastMessage is not null).ToDictionary(c => c.Id, c => (c.LastMessage!.ChatId, c.LastMessage.Text));
        Assert.Equal((chess.Id, "Турнир в субботу"), lastTexts[chess.Id]);
        Assert.Equal((room.ChatId, "Завтра контрольная"), lastTexts[room.ChatId]);

        // Pinned goes first whatever the activity; pinning is Petya's own.
        await petya.Connection.InvokeAsync("SetChatPreferences", room.ChatId, new ChatPreferencesRequest(true, null, null));
        var mine = await petya.ChatsAsync(room.School.Id);
        Assert.Equal(room.ChatId, mine[0].Id);
        Assert.True(mine[0].Pinned);
        Assert.False((await teacher.ChatAsync(room.School.Id, room.ChatId)).Pinned);

        // Muting until a time, then unmuting; the chat keeps its place and still receives.
        var until = DateTimeOffset.UtcNow.AddHours(8);
        await petya.Connection.InvokeAsync("SetChatPreferences", chess.Id, new ChatPreferencesRequest(null, until, null));
        var muted = await petya.ChatAsync(room.School.Id, chess.Id);
        Assert.InRange(muted.MutedUntil!.Value, until.UtcDateTime.AddSeconds(-1), until.UtcDateTime.AddSeconds(1));
        await teacher.SendAsync(chess.Id, "Не забудьте доски");
        await HubClient.EventuallyAsync(() => petya.ReceivedIn(chess.Id).Any(m => m.Text == "Не забудьте доски"), "a muted chat still delivers");
        await petya.Connection.InvokeAsync("SetChatPreferences", chess.Id, new ChatPreferencesRequest(false, null, true));
        Assert.Null((await petya.ChatAsync(room.School.Id, chess.Id)).MutedUntil);
        Assert.Equal(room.ChatId, (await petya.ChatsAsync(room.School.Id))[0].Id);

        // Preferences of a chat one is not in: not found.
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await masha.Connection.InvokeAsync("SetChatPreferences", chess.Id, new ChatPreferencesRequest(true, null, null)).ExpectHubErrorAsync("chat_not_found");
    }

    [Fact]
    public async Task Director_RunsParentsAndPupilsCouncilsAcrossClasses_AndSitsInTheAdministrationChat()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class9B = await school.CreateClassAsync("9Б");
        var director = await school.AddVerifiedTeacherAsync("Директор Ирина Петровна");
        await (await school.Admin.Http.PutAsync($"{school.Api}/directors/{director.AccountId}", null)).EnsureOkAsync();
        var young = await school.AddStudentAsync("Пятиклассник", class5A.Id);
        var old = await school.AddStudentAsync("Девятиклассница", class9B.Id);
        var youngParent = await school.AddParentAsync("Мама пятиклассника", young.AccountId);
        var oldParent = await school.AddParentAsync("Папа девятиклассницы", old.AccountId);
        await using var directorHub = await HubClient.ConnectAsync(app, director);
        await using var youngHub = await HubClient.ConnectAsync(app, young);
        await using var oldParentHub = await HubClient.ConnectAsync(app, oldParent);

        var parents = await directorHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Совет родителей", null, null, [youngParent.AccountId, oldParent.AccountId]));
        var pupils = await directorHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Совет обучающихся", null, null, [young.AccountId, old.AccountId]));
        Assert.Equal(("owner", 3), (parents.Role, parents.MemberCount));
        await directorHub.SendAsync(parents.Id, "Собрание совета в четверг");
        await directorHub.SendAsync(pupils.Id, "Обсудим школьный праздник");
        await HubClient.EventuallyAsync(() => oldParentHub.ReceivedIn(parents.Id).Any(), "the council of parents");
        await HubClient.EventuallyAsync(() => youngHub.ReceivedIn(pupils.Id).Any(), "the council of pupils");

        // A pupil runs no councils; the director is in the administration chat and the staff room.
        var refused = youngHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "group", "Мой совет", null, null, [old.AccountId]));
        await refused.ExpectHubErrorAsync("chat_create_not_allowed");
        var directorChats = await directorHub.ChatsAsync(school.Id);
        Assert.Contains(directorChats, c => c.Title == "Администрация");
        Assert.Contains(directorChats, c => c.Kind == "staff_room");
        Assert.DoesNotContain(await youngHub.ChatsAsync(school.Id), c => c.Title == "Администрация");
    }

    /// <summary>
    /// A suspended school's chats are not read (history says "not found"): the chat list leaves them out too — before,
    /// it still showed each chat's last message — while the person's other school goes on as before.
    /// </summary>
    [Fact]
    public async Task SchoolSuspended_ItsChatsLeaveTheList_WithTheirLastMessages_TheOtherSchoolsStay_BackWhenResumed()
    {
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        var first = await new SchoolBuilder(app).CreateAsync("Школа №61");
        var second = await new SchoolBuilder(app).CreateAsync("Лицей №62");
        var inFirst = await first.CreateClassAsync("3А");
        var inSecond = await second.CreateClassAsync("7Б");
        var son = await first.AddStudentAsync("Миша", inFirst.Id);
        var daughter = await second.AddStudentAsync("Лена", inSecond.Id);
        var motherUser = await first.AddParentAsync("Анна Петровна", son.AccountId);
        await second.LinkParentAsync(motherUser, daughter.AccountId);
        await using var mother = await HubClient.ConnectAsync(app, motherUser);
        await using var admin = await HubClient.ConnectAsync(app, first.Admin);
        var news = Assert.Single(await admin.ChatsAsync(first.Id), c => c.Title == "Общешкольный канал");
        await admin.SendAsync(news.Id, "Родительское собрание в четверг");
        Assert.Equal("Родительское собрание в четверг", (await mother.ChatAsync(first.Id, news.Id)).LastMessage!.Text);
        var elsewhere = (await mother.ChatsAsync(second.Id)).Select(c => c.Id).Order().ToList();
        Assert.NotEmpty(elsewhere);

        await (await op.Http.PostAsync($"/api/platform/schools/{first.Id}/suspend", null)).EnsureOkAsync();

        Assert.Empty(await mother.ChatsAsync(first.Id));
        var all = await mother.ChatsAsync(null);
        Assert.DoesNotContain(all, c => c.SchoolId == first.Id);
        Assert.Equal(elsewhere, all.Select(c => c.Id).Order().ToList());
        await mother.Connection.InvokeAsync<ChatDetailsDto>("GetChat", news.Id).ExpectHubErrorAsync("chat_not_found");

        await (await op.Http.PostAsync($"/api/platform/schools/{first.Id}/resume", null)).EnsureOkAsync();
        Assert.Equal("Родительское собрание в четверг", (await mother.ChatAsync(first.Id, news.Id)).LastMessage!.Text);
    }
}
