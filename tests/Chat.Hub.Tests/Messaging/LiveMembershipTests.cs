using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Live connections follow membership at once: leaving stops delivery, joining starts it, with no reconnect.</summary>
public sealed class LiveMembershipTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task LeaveChat_GroupChatMember_StopsReceivingAtOnce_ThenChatNotFound()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacherUser = await school.AddVerifiedTeacherAsync("Ольга Николаевна");
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        var mashaUser = await school.AddStudentAsync("Маша", class5A.Id);
        await using var teacher = await HubClient.ConnectAsync(app, teacherUser);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        await using var masha = await HubClient.ConnectAsync(app, mashaUser);

        // A subject teacher makes a robotics club chat with Petya; Petya's open connection joins it at once.
        var club = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Кружок робототехники", null, "Без спама", [petyaUser.AccountId]));
        Assert.Equal(("group", "owner", 2), (club.Kind, club.Role, club.MemberCount));
        await HubClient.EventuallyAsync(() => petya.Memberships.Contains((club.Id, true)), "Petya is told he was added");
        var welcome = await teacher.SendAsync(club.Id, "Добро пожаловать в кружок!");
        await HubClient.EventuallyAsync(() => petya.ReceivedIn(club.Id).Any(), "the welcome reaches Petya without a reconnect");

        // Masha is added later, and also starts receiving at once.
        Assert.Equal(1, await teacher.Connection.InvokeAsync<int>("AddChatMembers", club.Id, new[] { mashaUser.AccountId, petyaUser.AccountId }));
        await HubClient.EventuallyAsync(() => masha.Memberships.Contains((club.Id, true)), "Masha is told she was added");
        Assert.Equal(welcome.Seq, Assert.Single(await masha.HistoryAsync(club.Id)).Seq);
        await teacher.SendAsync(club.Id, "Занятие в среду");
        await HubClient.EventuallyAsync(() => masha.ReceivedIn(club.Id).Any() && petya.ReceivedIn(club.Id).Count() == 2, "the second message");

        // Petya leaves. He is told so, and the next message in the club does not reach him.
        await petya.Connection.InvokeAsync("LeaveChat", club.Id);
        await HubClient.EventuallyAsync(() => petya.Memberships.Contains((club.Id, false)), "Petya is told he left");
        await teacher.SendAsync(club.Id, "Петя ушёл, а мы продолжаем");

        // A barrier: a later message in a chat Petya is still in reaches him after the club's would have.
        var petyaClass = await petya.ClassChatAsync(school.Id, class5A.Id);
        await masha.SendAsync(petyaClass.Id, "Петя, ты где?");
        await HubClient.EventuallyAsync(() => petya.ReceivedIn(petyaClass.Id).Any() && masha.ReceivedIn(club.Id).Count() == 2, "the barrier");
        Assert.Equal(2, petya.ReceivedIn(club.Id).Count());

        // From now on the club is "not found" for him, whatever he tries.
        await petya.HistoryAsync(club.Id).ExpectHubErrorAsync("chat_not_found");
        await petya.UpdatesAsync(club.Id, 0).ExpectHubErrorAsync("chat_not_found");
        await petya.SendAsync(club.Id, "Я вернулся").ExpectHubErrorAsync("chat_not_found");
        await petya.Connection.InvokeAsync("LeaveChat", club.Id).ExpectHubErrorAsync("chat_not_found");
        Assert.DoesNotContain(await petya.ChatsAsync(school.Id), c => c.Id == club.Id);
        Assert.Equal(2, (await masha.ChatAsync(school.Id, club.Id)).MemberCount);
    }

    [Fact]
    public async Task LeaveChat_PupilLeavesClassChat_CannotLeaveChat()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        var classChat = await petya.ClassChatAsync(school.Id, class5A.Id);
        var channel = Assert.Single(await petya.ChatsAsync(school.Id), c => c.Kind == "channel");

        await petya.Connection.InvokeAsync("LeaveChat", classChat.Id).ExpectHubErrorAsync("cannot_leave_chat");
        await petya.Connection.InvokeAsync("LeaveChat", channel.Id).ExpectHubErrorAsync("cannot_leave_chat");

        Assert.Contains(await petya.ChatsAsync(school.Id), c => c.Id == classChat.Id);
        await petya.SendAsync(classChat.Id, "Я всё ещё здесь");
    }

    /// <summary>
    /// The staff's channel follows the roster like the others (its next sync brought a teacher who left it back, without
    /// a word); a chat's only owner cannot leave the people in it without anyone to moderate it — once she made a
    /// colleague owner too, she can.
    /// </summary>
    [Fact]
    public async Task LeaveChat_StaffChannelRefused_TheOnlyOwnerRefusedUntilAnotherIsMadeOwner()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacherUser = await school.AddVerifiedTeacherAsync("Анна Сергеевна", class5A.Id);
        var colleagueUser = await school.AddVerifiedTeacherAsync("Игорь Петрович", null);
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        await using var teacher = await HubClient.ConnectAsync(app, teacherUser);
        var staffChannel = Assert.Single(await teacher.ChatsAsync(school.Id), c => c.Title == "Сотрудники");
        await teacher.Connection.InvokeAsync("LeaveChat", staffChannel.Id).ExpectHubErrorAsync("cannot_leave_chat");

        var club = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Шахматный кружок", null, null, [petyaUser.AccountId, colleagueUser.AccountId]));
        await teacher.Connection.InvokeAsync("LeaveChat", club.Id).ExpectHubErrorAsync("last_owner_cannot_leave");
        Assert.Contains(await teacher.ChatsAsync(school.Id), c => c.Id == club.Id);

        await teacher.Connection.InvokeAsync("SetChatMemberRole", club.Id, colleagueUser.AccountId, "owner");

        // Both owners leave at the same moment: one of them goes, the other stays its owner.
        await using var colleague = await HubClient.ConnectAsync(app, colleagueUser);
        var leaving = await Task.WhenAll(new[] { teacher, colleague }.Select(async hub =>
        {
            try
            {
                await hub.Connection.InvokeAsync("LeaveChat", club.Id);
                return (Hub: hub, Outcome: "left");
            }
            catch (HubException e)
            {
                return (Hub: hub, Outcome: HubCalls.CodeOf(e));
            }
        }));
        Assert.Equal(["last_owner_cannot_leave", "left"], leaving.Select(x => x.Outcome).Order());
        var stayed = leaving.Single(x => x.Outcome != "left").Hub;
        Assert.Single(await stayed.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", club.Id), m => m.Role == "owner");

        // The roster's chats say so, and the web client offers no «Покинуть чат» there.
        var listed = await colleague.ChatsAsync(school.Id);
        Assert.True(listed.Single(c => c.Title == "Сотрудники").RosterKept);
        Assert.True(listed.Single(c => c.Kind == "staff_room").RosterKept);
    }

    [Fact]
    public async Task PupilJoinsClass_OpenConnectionJoinsClassChat_ClassmatesSeeHimWithoutReconnecting()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var mashaUser = await school.AddStudentAsync("Маша", class5A.Id);
        await using var masha = await HubClient.ConnectAsync(app, mashaUser);
        var classChat = await masha.ClassChatAsync(school.Id, class5A.Id);
        await masha.SendAsync(classChat.Id, "Кто-нибудь новенький придёт?");

        // Vasya has the app open before he joins the school: his connection is in no chat yet.
        var vasyaUser = await app.SignInAsync(SchoolBuilder.NewPhone(), "Вася");
        await using var vasya = await HubClient.ConnectAsync(app, vasyaUser);
        Assert.Empty(await vasya.ChatsAsync(null));

        // He accepts the class invite: his open connection joins the class chat, the school channel and so on, at once.
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);
        Assert.Equal("joined", (await TestSchool.AcceptAsync(vasyaUser, invite)).Status);
        await HubClient.EventuallyAsync(() => vasya.Memberships.Contains((classChat.Id, true)), "Vasya is told he is in the class chat");

        var hello = await masha.SendAsync(classChat.Id, "Привет, Вася!");
        await HubClient.EventuallyAsync(() => vasya.ReceivedIn(classChat.Id).Any(), "Masha's hello reaches Vasya's open connection");
        Assert.Equal(hello.Seq, Assert.Single(vasya.ReceivedIn(classChat.Id)).Seq);

        // He sees the history before he came, and Masha, still on her first connection, receives his answer.
        Assert.Equal(2, (await vasya.HistoryAsync(classChat.Id)).Count);
        await vasya.SendAsync(classChat.Id, "Привет!");
        await HubClient.EventuallyAsync(() => masha.ReceivedIn(classChat.Id).Any(m => m.SenderId == vasyaUser.AccountId), "Vasya's answer");
        Assert.Contains(await masha.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", classChat.Id), m => m.AccountId == vasyaUser.AccountId);

        // A connection he opens afterwards is in the class chat from the start.
        await using var vasyaPhone = await HubClient.ConnectAsync(app, vasyaUser);
        var next = await masha.SendAsync(classChat.Id, "Добро пожаловать!");
        await HubClient.EventuallyAsync(() => vasyaPhone.ReceivedIn(classChat.Id).Any(m => m.Seq == next.Seq), "the welcome on his second device");
    }

    [Fact]
    public async Task SignOut_ClosesThatSessionsConnection_OtherDeviceKeepsReceiving()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var mashaUser = await school.AddStudentAsync("Маша", class5A.Id);
        var phone = SchoolBuilder.NewPhone();
        var petyaLaptop = await app.SignInAsync(phone, "Петя");
        Assert.Equal("joined", (await TestSchool.AcceptAsync(petyaLaptop, await school.InviteAsync(school.Admin, "student", class5A.Id))).Status);
        var petyaPhone = await app.SignInAsync(phone);
        Assert.Equal(petyaLaptop.AccountId, petyaPhone.AccountId);
        await using var masha = await HubClient.ConnectAsync(app, mashaUser);
        await using var laptop = await HubClient.ConnectAsync(app, petyaLaptop);
        await using var onPhone = await HubClient.ConnectAsync(app, petyaPhone);
        var classChat = await masha.ClassChatAsync(school.Id, class5A.Id);

        // Petya signs out on the laptop: its live connection is closed at once; the phone's is not.
        await (await petyaLaptop.Http.PostAsync("/api/auth/sign-out", null)).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => laptop.ClosedWith is not null, "the laptop's connection is closed");
        var message = await masha.SendAsync(classChat.Id, "Петя, ты тут?");
        await HubClient.EventuallyAsync(() => onPhone.ReceivedIn(classChat.Id).Any(), "the message on the phone");
        Assert.Empty(laptop.ReceivedIn(classChat.Id));
        Assert.Equal(message.Seq, Assert.Single(onPhone.ReceivedIn(classChat.Id)).Seq);

        // The laptop's access token no longer opens a connection.
        await Assert.ThrowsAnyAsync<Exception>(() => HubClient.ConnectAsync(app, petyaLaptop));
    }

    [Fact]
    public async Task AddChatMembers_ByPupil_ModeratorOnly_AndNobodyIsAdded()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacherUser = await school.AddVerifiedTeacherAsync("Ольга Николаевна");
        var petyaUser = await school.AddStudentAsync("Петя", class5A.Id);
        var mashaUser = await school.AddStudentAsync("Маша", class5A.Id);
        await using var teacher = await HubClient.ConnectAsync(app, teacherUser);
        await using var petya = await HubClient.ConnectAsync(app, petyaUser);
        await using var masha = await HubClient.ConnectAsync(app, mashaUser);
        var club = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Шахматы", null, null, [petyaUser.AccountId]));

        await petya.Connection.InvokeAsync<int>("AddChatMembers", club.Id, new[] { mashaUser.AccountId }).ExpectHubErrorAsync("moderator_only");
        await petya.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(school.Id, "group", "Мой чат", null, null, null))
            .ExpectHubErrorAsync("chat_create_not_allowed");

        Assert.Equal(2, (await teacher.ChatAsync(school.Id, club.Id)).MemberCount);
        Assert.DoesNotContain(masha.Memberships, m => m.ChatId == club.Id);
    }
}
