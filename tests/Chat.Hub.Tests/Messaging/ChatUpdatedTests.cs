using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Lifecycle;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>
/// A chat's title and archived state reach its members' open connections at once (<c>ChatUpdated</c>): when the admin
/// renames, archives or restores a class, at the year's rollover, and when a chat's owner renames it. Nobody else hears.
/// </summary>
public sealed class ChatUpdatedTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task ClassRenamed_Archived_Restored_MembersOfItsChatsAreTold_OthersAreNot()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 1, withNeighbours: true);
        var school = room.School;
        var class5B = (await school.Admin.Http.GetFromJsonAsync<List<Features.Schools.ClassDto>>($"{school.Api}/classes"))!.Single(c => c.Name == "5Б");
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var otherClass = await other.CreateClassAsync("5А");
        var stranger = await other.AddStudentAsync("Вася из другой школы", otherClass.Id);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var mother = await HubClient.ConnectAsync(app, room.Mother);
        await using var kolya = await HubClient.ConnectAsync(app, room.Kolya);
        await using var vasya = await HubClient.ConnectAsync(app, stranger);
        var parentsChat = Assert.Single(await mother.ChatsAsync(school.Id), c => c.Kind == "parents");

        // An olympiad group made for 5Б (a subject chat of the class) has Петя of 5А in it.
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var club = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Олимпиада 5Б", class5B.Id, null, [room.Petya.AccountId]));

        // The admin renames 5А: Петя hears of his class chat, his mother of the parents' chat, with the new titles.
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{room.Class.Id}", new { name = "5А инженерный" })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => petya.ChatUpdates.Any(u => u.ChatId == room.ChatId), "Петя is told his class chat was renamed");
        var renamed = Assert.Single(petya.ChatUpdates);
        Assert.Equal((room.ChatId, "5А инженерный", false, false), (renamed.ChatId, renamed.Title, renamed.Archived, renamed.ReadOnly));
        await HubClient.EventuallyAsync(() => !mother.ChatUpdates.IsEmpty, "the mother is told of the parents' chat");
        var parents = Assert.Single(mother.ChatUpdates);
        Assert.Equal((parentsChat.Id, "Родители 5А инженерный", false), (parents.ChatId, parents.Title, parents.Archived));

        var beforeArchive = await petya.SendAsync(club.Id, "Сообщение до архива");
        // 5Б has no pupils left in it (Коля moves to 5А): archiving it archives the club, and Петя is told.
        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{room.Kolya.AccountId}/class", new { classId = room.Class.Id })).EnsureOkAsync();
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5B.Id}", new { archived = true })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => petya.ChatUpdates.Any(u => u.ChatId == club.Id), "Петя is told the club was archived");
        var clubArchived = petya.ChatUpdates.Single(u => u.ChatId == club.Id);
        Assert.Equal(("Олимпиада 5Б", true), (clubArchived.Title, clubArchived.Archived));
        var archived = await petya.ChatAsync(school.Id, club.Id);
        Assert.Equal((true, false), (archived.Archived, archived.CanPost));

        // History only: he reads it, and every way of taking part says the chat is archived.
        Assert.Equal("Сообщение до архива", (await petya.HistoryAsync(club.Id)).Last().Text);
        var hub = petya.Connection;
        await petya.SendAsync(club.Id, "После архива").ExpectHubErrorAsync("chat_archived");
        await hub.InvokeAsync<MessageDto>("React", club.Id, beforeArchive.Seq, "👍", true).ExpectHubErrorAsync("chat_archived");
        await hub.InvokeAsync<MessageDto>("EditMessage", club.Id, beforeArchive.Seq, "Исправил").ExpectHubErrorAsync("chat_archived");
        await hub.InvokeAsync<MessageDto>("DeleteMessage", club.Id, beforeArchive.Seq).ExpectHubErrorAsync("chat_archived");
        await hub.InvokeAsync<Chat.Hub.Features.Calls.CallJoinDto>("StartCall", club.Id, false).ExpectHubErrorAsync("chat_archived");
        await hub.InvokeAsync<Chat.Hub.Features.Calls.CallDto?>("GetChatCall", club.Id).ExpectHubErrorAsync("chat_archived");
        // Its owner keeps it as it was: nobody added, no new title, rules, roles or links.
        var owner = teacher.Connection;
        await owner.InvokeAsync<int>("AddChatMembers", club.Id, new[] { room.Kolya.AccountId }).ExpectHubErrorAsync("chat_archived");
        await owner.InvokeAsync<ChatDetailsDto>("UpdateChat", club.Id, new UpdateChatRequest("Олимпиада 6Б", null, null)).ExpectHubErrorAsync("chat_archived");
        await owner.InvokeAsync("SetChatMemberRole", club.Id, room.Petya.AccountId, "moderator").ExpectHubErrorAsync("chat_archived");
        await owner.InvokeAsync<MessageDto>("RemindRules", club.Id, Guid.NewGuid()).ExpectHubErrorAsync("chat_archived");
        var link = await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{club.Id}/invites", new { maxUses = 5 });
        await link.ExpectErrorAsync(System.Net.HttpStatusCode.Conflict, "chat_archived");
        Assert.Equal(["Олимпиада 5Б"], (await teacher.ChatsAsync(school.Id)).Where(c => c.Id == club.Id).Select(c => c.Title));

        // Restored with its class: Петя is told, and may write again.
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5B.Id}", new { archived = false })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => petya.ChatUpdates.Count(u => u.ChatId == club.Id) == 2, "Петя is told the club is back");
        Assert.False(petya.ChatUpdates.Last().Archived);
        Assert.True((await petya.ChatAsync(school.Id, club.Id)).CanPost);
        await petya.SendAsync(club.Id, "Снова можно писать!");

        // A barrier: Коля's and Вася's own classes are renamed last; until then they heard of nobody else's chats.
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{room.Class.Id}", new { name = "5А" })).EnsureOkAsync();
        await (await other.Admin.Http.PatchAsJsonAsync($"{other.Api}/classes/{otherClass.Id}", new { name = "5А математический" })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => !kolya.ChatUpdates.IsEmpty && !vasya.ChatUpdates.IsEmpty, "the barrier");
        var kolyas = Assert.Single(kolya.ChatUpdates);
        Assert.Equal((room.ChatId, "5А"), (kolyas.ChatId, kolyas.Title));
        Assert.Equal("5А математический", Assert.Single(vasya.ChatUpdates).Title);
        Assert.Equal(4, petya.ChatUpdates.Count);
        Assert.Equal(2, mother.ChatUpdates.Count);
    }

    [Fact]
    public async Task Rollover_PromotedClassChatRenamed_GraduatedClassChatArchived_ForThoseStillInThem()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var ending = DateTime.UtcNow.Year - 1; // the year the rollover ends
        var class5A = await school.CreateClassAsync("5А", ending);
        var class11 = await school.CreateClassAsync("11А", ending);
        var teacher11 = await school.AddVerifiedTeacherAsync("Классный руководитель 11А", class11.Id);
        var pupil5 = await school.AddStudentAsync("Пятиклассник", class5A.Id);
        await school.AddStudentAsync("Выпускник", class11.Id);
        await using var pupil = await HubClient.ConnectAsync(app, pupil5);
        await using var teacher = await HubClient.ConnectAsync(app, teacher11);
        var classChat5 = await pupil.ClassChatAsync(school.Id, class5A.Id);
        var classChat11 = await teacher.ClassChatAsync(school.Id, class11.Id);

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ReadAsync<RolloverResult>();

        await HubClient.EventuallyAsync(() => !pupil.ChatUpdates.IsEmpty, "the pupil is told his class chat is 6А now");
        var promoted = Assert.Single(pupil.ChatUpdates);
        Assert.Equal((classChat5.Id, "6А", false), (promoted.ChatId, promoted.Title, promoted.Archived));

        // The class teacher of the graduates stays in both of 11А's chats, now archived.
        await HubClient.EventuallyAsync(() => teacher.ChatUpdates.Count == 2, "the class teacher is told 11А's chats are archived");
        Assert.All(teacher.ChatUpdates, u => Assert.True(u.Archived));
        Assert.Contains(teacher.ChatUpdates, u => u.ChatId == classChat11.Id && u.Title == "11А");
        Assert.False((await teacher.ChatAsync(school.Id, classChat11.Id)).CanPost);
    }

    [Fact]
    public async Task OwnerRenamesGroup_MembersAreTold_NotOnSlowModeOrRulesOnly()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 2);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var club = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(room.School.Id, "group", "Шахматы", null, null, [room.Petya.AccountId]));

        await teacher.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", club.Id, new UpdateChatRequest(null, "Не спорим", 30));
        await teacher.Connection.InvokeAsync<ChatDetailsDto>("UpdateChat", club.Id, new UpdateChatRequest("Шахматный клуб", null, null));
        await HubClient.EventuallyAsync(() => !petya.ChatUpdates.IsEmpty, "Петя is told of the new title");
        var update = Assert.Single(petya.ChatUpdates);
        Assert.Equal((club.Id, "Шахматный клуб", false), (update.ChatId, update.Title, update.Archived));

        // Маша is not in the club: a message in her class chat arrives after what she would have heard.
        var barrier = await teacher.SendAsync(room.ChatId, "Завтра контрольная");
        await HubClient.EventuallyAsync(() => masha.ReceivedIn(room.ChatId).Any(m => m.Seq == barrier.Seq), "the barrier");
        Assert.Empty(masha.ChatUpdates);
    }
}
