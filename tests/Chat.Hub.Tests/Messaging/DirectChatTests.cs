using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Messaging;

/// <summary>Direct chats inside one school: who may open one with whom, safe mode for pupils, personal blocks.</summary>
public sealed class DirectChatTests(ChatApp app) : IClassFixture<ChatApp>
{
    private sealed record People(
        TestSchool School,
        TestUser ClassTeacher5A,
        TestUser SubjectTeacher,
        TestUser Petya,
        TestUser Masha,
        TestUser Vasya,
        TestUser Kolya,
        TestUser PetyasMother,
        TestUser KolyasMother);

    /// <summary>5А: Petya, Masha, Vasya and their class teacher; 5Б: Kolya; a subject teacher; Petya's and Kolya's mothers.</summary>
    private async Task<People> SchoolAsync()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var classTeacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var subjectTeacher = await school.AddVerifiedTeacherAsync("Игорь Петрович");
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var masha = await school.AddStudentAsync("Маша", class5A.Id);
        var vasya = await school.AddStudentAsync("Вася", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля", class5B.Id);
        var petyasMother = await school.AddParentAsync("Мама Пети", petya.AccountId);
        var kolyasMother = await school.AddParentAsync("Мама Коли", kolya.AccountId);
        return new People(school, classTeacher, subjectTeacher, petya, masha, vasya, kolya, petyasMother, kolyasMother);
    }

    private static Task<ChatSummaryDto> OpenDirectAsync(HubClient hub, Guid schoolId, TestUser with) =>
        hub.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", schoolId, with.AccountId);

    private static async Task SetSafeModeAsync(TestSchool school, bool on) =>
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", region = "Москва", address = "ул. Школьная, 1", pupilSafeMode = on })).EnsureOkAsync();

    /// <summary>
    /// The class teacher leaves the school. A mother's direct chat with her closes for the mother too, as a chat the
    /// rules no longer allow does: left open with nobody on the other side, «Петя заболел» would be read by no one.
    /// </summary>
    [Fact]
    public async Task TeacherLeavesTheSchool_HerDirectChatWithAMotherClosesForBoth_TheMothersConnectionIsTold()
    {
        var p = await SchoolAsync();
        await using var mother = await HubClient.ConnectAsync(app, p.PetyasMother);
        var chat = await OpenDirectAsync(mother, p.School.Id, p.ClassTeacher5A);
        await mother.SendAsync(chat.Id, "Петя заболел");
        var withSubjectTeacher = await OpenDirectAsync(mother, p.School.Id, p.SubjectTeacher);

        await (await p.School.Admin.Http.PostAsJsonAsync($"{p.School.Api}/staff/{p.ClassTeacher5A.AccountId}/leave", new { reason = "Перевод в другую школу" })).EnsureOkAsync();

        await HubClient.EventuallyAsync(() => mother.Memberships.Contains((chat.Id, false)), "the mother's open connection leaves the chat");
        var chats = await mother.ChatsAsync(p.School.Id);
        Assert.DoesNotContain(chats, c => c.Id == chat.Id);
        Assert.Contains(chats, c => c.Id == withSubjectTeacher.Id);
        await mother.SendAsync(chat.Id, "Вы здесь?").ExpectHubErrorAsync("chat_not_found");
        await OpenDirectAsync(mother, p.School.Id, p.ClassTeacher5A).ExpectHubErrorAsync("member_not_found");
    }

    /// <summary>
    /// «Написать лично» offers only those the rules let me write to: the school's member list says so for each member,
    /// as opening the chat then decides (a mother sees her son's classmates, but under safe mode cannot write to them).
    /// </summary>
    [Fact]
    public async Task SchoolMembers_SayWhomICanWriteTo_AsOpeningADirectChatDecides()
    {
        var p = await SchoolAsync();
        var seen = (await p.PetyasMother.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.MemberDto>>($"{p.School.Api}/members"))!;
        bool Can(TestUser u) => seen.Single(m => m.AccountId == u.AccountId).CanMessage;
        Assert.Equal((true, true, true), (Can(p.ClassTeacher5A), Can(p.SubjectTeacher), Can(p.Petya)));
        Assert.Equal((false, false), (Can(p.Masha), Can(p.PetyasMother)));

        await using var mother = await HubClient.ConnectAsync(app, p.PetyasMother);
        await OpenDirectAsync(mother, p.School.Id, p.Masha).ExpectHubErrorAsync("direct_not_allowed");
        await OpenDirectAsync(mother, p.School.Id, p.ClassTeacher5A);

        // A pupil may write to a classmate and to the staff.
        var petyaSees = (await p.Petya.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.MemberDto>>($"{p.School.Api}/members"))!;
        Assert.All(petyaSees.Where(m => m.AccountId != p.Petya.AccountId), m => Assert.True(m.CanMessage, m.DisplayName));
    }

    /// <summary>A chat's member list says the same for «Написать» beside each member: a mother sees it beside the class teacher, not beside another mother.</summary>
    [Fact]
    public async Task ChatMembers_SayWhomICanWriteTo_AsOpeningADirectChatDecides()
    {
        var p = await SchoolAsync();
        var mashasMother = await p.School.AddParentAsync("Мама Маши", p.Masha.AccountId);
        await using var mother = await HubClient.ConnectAsync(app, p.PetyasMother);
        var parents = (await mother.ChatsAsync(p.School.Id)).Single(c => c.Title == "Родители 5А");
        var seen = await mother.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", parents.Id);
        bool Can(TestUser u) => seen.Single(m => m.AccountId == u.AccountId).CanMessage;
        Assert.Equal((true, false, false), (Can(p.ClassTeacher5A), Can(mashasMother), Can(p.PetyasMother)));
        await OpenDirectAsync(mother, p.School.Id, mashasMother).ExpectHubErrorAsync("direct_not_allowed");

        // In the class chat a pupil may write to every classmate and the teacher (safe mode keeps them reachable).
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        var classChat = (await petya.ChatsAsync(p.School.Id)).Single(c => c.Kind == "class");
        var petyaSees = await petya.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", classChat.Id);
        Assert.All(petyaSees.Where(m => m.AccountId != p.Petya.AccountId), m => Assert.True(m.CanMessage, m.DisplayName));
        Assert.False(petyaSees.Single(m => m.AccountId == p.Petya.AccountId).CanMessage);
    }

    /// <summary>
    /// A direct chat the school's rules closed for both (a classmate moved to another class under safe mode) is not
    /// reopened by «unblocking» someone who was never blocked: it brought the other one back alone, with the history.
    /// </summary>
    [Fact]
    public async Task UnblockWithoutABlock_DoesNotReopenAChatTheRulesClosed()
    {
        var p = await SchoolAsync();
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        var chat = await OpenDirectAsync(petya, p.School.Id, p.Masha);
        await petya.SendAsync(chat.Id, "Маша, привет");
        var class5B = (await p.School.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.ClassDto>>($"{p.School.Api}/classes"))!.Single(c => c.Name == "5Б");
        await (await p.School.Admin.Http.PutAsJsonAsync($"{p.School.Api}/students/{p.Masha.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        await using var masha = await HubClient.ConnectAsync(app, p.Masha);
        Assert.DoesNotContain(await petya.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        Assert.DoesNotContain(await masha.ChatsAsync(p.School.Id), c => c.Id == chat.Id);

        await masha.Connection.InvokeAsync("BlockPerson", p.Petya.AccountId, false);
        await using (var db = new Npgsql.NpgsqlConnection(app.ConnectionString))
        {
            Assert.Equal(0, await Dapper.SqlMapper.ExecuteScalarAsync<int>(db, "SELECT count(*)::int FROM chat_members WHERE chat_id = @id", new { id = chat.Id }));
        }

        Assert.DoesNotContain(await petya.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        Assert.DoesNotContain(await masha.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        await petya.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chat.Id, null, 50).ExpectHubErrorAsync("chat_not_found");
    }

    /// <summary>Two classmates blocked each other; each unblocking brings one of them back: the chat, with its history, is both of theirs again.</summary>
    [Fact]
    public async Task BlockedEachOther_BothUnblock_TheChatIsBackForBoth()
    {
        var p = await SchoolAsync();
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        await using var masha = await HubClient.ConnectAsync(app, p.Masha);
        var chat = await OpenDirectAsync(petya, p.School.Id, p.Masha);
        await petya.SendAsync(chat.Id, "Маша, привет");
        await petya.Connection.InvokeAsync("BlockPerson", p.Masha.AccountId, true);
        await masha.Connection.InvokeAsync("BlockPerson", p.Petya.AccountId, true);
        Assert.DoesNotContain(await petya.ChatsAsync(p.School.Id), c => c.Id == chat.Id);

        await petya.Connection.InvokeAsync("BlockPerson", p.Masha.AccountId, false);
        Assert.Contains(await masha.ChatsAsync(p.School.Id), c => c.Id == chat.Id); // hers, with him blocked out of it
        await masha.Connection.InvokeAsync("BlockPerson", p.Petya.AccountId, false);

        Assert.Contains(await petya.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        Assert.Contains(await masha.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        Assert.Contains(await masha.HistoryAsync(chat.Id), m => m.Text == "Маша, привет");
    }

    /// <summary>
    /// Unblocking gives the other person back a direct chat only where the school's rules still allow it: Маша moved to
    /// another class (safe mode) while Петя had her blocked; on his unblock the rules decide as if both had been there
    /// all along, and the chat closes for both instead of reopening between two pupils who may no longer write.
    /// </summary>
    [Fact]
    public async Task Unblock_AfterTheRulesNoLongerAllowTheChat_ClosesItForBoth()
    {
        var p = await SchoolAsync();
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        var chat = await OpenDirectAsync(petya, p.School.Id, p.Masha);
        await petya.SendAsync(chat.Id, "Маша, привет");
        await petya.Connection.InvokeAsync("BlockPerson", p.Masha.AccountId, true);
        var class5B = (await p.School.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.ClassDto>>($"{p.School.Api}/classes"))!.Single(c => c.Name == "5Б");
        await (await p.School.Admin.Http.PutAsJsonAsync($"{p.School.Api}/students/{p.Masha.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        Assert.Contains(await petya.ChatsAsync(p.School.Id), c => c.Id == chat.Id); // his, with her blocked out of it

        await petya.Connection.InvokeAsync("BlockPerson", p.Masha.AccountId, false);

        await using var masha = await HubClient.ConnectAsync(app, p.Masha);
        Assert.DoesNotContain(await masha.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        Assert.DoesNotContain(await petya.ChatsAsync(p.School.Id), c => c.Id == chat.Id);
        await masha.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chat.Id, null, 50).ExpectHubErrorAsync("chat_not_found");
    }

    [Fact]
    public async Task OpenDirectChat_PupilToClassmate_OneChatForThePairThatDelivers()
    {
        var p = await SchoolAsync();
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        await using var masha = await HubClient.ConnectAsync(app, p.Masha);

        var chat = await OpenDirectAsync(petya, p.School.Id, p.Masha);
        Assert.Equal(("direct", "Маша", p.Masha.AccountId, 2), (chat.Kind, chat.Title, chat.PeerId, chat.MemberCount));
        await HubClient.EventuallyAsync(() => masha.Memberships.Contains((chat.Id, true)), "Masha's open connection joins the chat");

        var hello = await petya.SendAsync(chat.Id, "Маша, что задали?");
        await HubClient.EventuallyAsync(() => masha.ReceivedIn(chat.Id).Any(), "Petya's message");
        Assert.Equal(hello.Seq, Assert.Single(masha.ReceivedIn(chat.Id)).Seq);

        // Either of them opening it again gets the same chat, named after the other one.
        var back = await OpenDirectAsync(masha, p.School.Id, p.Petya);
        Assert.Equal((chat.Id, "Петя", p.Petya.AccountId), (back.Id, back.Title, back.PeerId));
        Assert.Equal(chat.Id, (await OpenDirectAsync(petya, p.School.Id, p.Masha)).Id);
        Assert.Single(await petya.ChatsAsync(p.School.Id), c => c.Kind == "direct");

        // Nobody opens a chat with themselves.
        await OpenDirectAsync(petya, p.School.Id, p.Petya).ExpectHubErrorAsync("direct_not_allowed");
    }

    [Fact]
    public async Task OpenDirectChat_UnderSafeMode_OnlyClassmatesStaffAndOwnParentsReachAPupil()
    {
        var p = await SchoolAsync();
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        await using var subjectTeacher = await HubClient.ConnectAsync(app, p.SubjectTeacher);
        await using var classTeacher = await HubClient.ConnectAsync(app, p.ClassTeacher5A);
        await using var admin = await HubClient.ConnectAsync(app, p.School.Admin);
        await using var petyasMother = await HubClient.ConnectAsync(app, p.PetyasMother);

        // A pupil of another class is out of reach for a pupil and for a parent of another child.
        await OpenDirectAsync(petya, p.School.Id, p.Kolya).ExpectHubErrorAsync("direct_not_allowed");
        await OpenDirectAsync(petyasMother, p.School.Id, p.Kolya).ExpectHubErrorAsync("direct_not_allowed");
        await OpenDirectAsync(petyasMother, p.School.Id, p.Masha).ExpectHubErrorAsync("direct_not_allowed");

        // Any teacher and the admin reach any pupil; a pupil reaches teachers and their own parent; a parent their child and teachers.
        Assert.Equal("direct", (await OpenDirectAsync(subjectTeacher, p.School.Id, p.Kolya)).Kind);
        Assert.Equal("direct", (await OpenDirectAsync(classTeacher, p.School.Id, p.Kolya)).Kind);
        Assert.Equal("direct", (await OpenDirectAsync(admin, p.School.Id, p.Masha)).Kind);
        Assert.Equal("direct", (await OpenDirectAsync(petya, p.School.Id, p.SubjectTeacher)).Kind);
        Assert.Equal("direct", (await OpenDirectAsync(petya, p.School.Id, p.PetyasMother)).Kind);
        Assert.Equal("direct", (await OpenDirectAsync(petyasMother, p.School.Id, p.ClassTeacher5A)).Kind);

        // Parents do not reach each other directly (they meet in the parents' chat), nor a pupil another child's parent.
        await OpenDirectAsync(petyasMother, p.School.Id, p.KolyasMother).ExpectHubErrorAsync("direct_not_allowed");
        await OpenDirectAsync(petya, p.School.Id, p.KolyasMother).ExpectHubErrorAsync("direct_not_allowed");

        // Nothing was created by the refusals.
        Assert.Equal(2, (await petya.ChatsAsync(p.School.Id)).Count(c => c.Kind == "direct"));
        Assert.Equal(2, (await petyasMother.ChatsAsync(p.School.Id)).Count(c => c.Kind == "direct"));
    }

    [Fact]
    public async Task OpenDirectChat_SafeModeTurnedOff_ParentAndPupilsReachOtherPupils_ParentsStillNotEachOther()
    {
        var p = await SchoolAsync();
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        await using var petyasMother = await HubClient.ConnectAsync(app, p.PetyasMother);
        await OpenDirectAsync(petyasMother, p.School.Id, p.Masha).ExpectHubErrorAsync("direct_not_allowed");

        await SetSafeModeAsync(p.School, on: false);

        // Safe mode is what keeps other members away from pupils; without it the school's members reach them.
        var withClassmate = await OpenDirectAsync(petyasMother, p.School.Id, p.Masha);
        Assert.Equal("Маша", withClassmate.Title);
        Assert.Equal("direct", (await OpenDirectAsync(petya, p.School.Id, p.Kolya)).Kind);

        // It is about pupils only: parents still do not reach other parents directly.
        await OpenDirectAsync(petyasMother, p.School.Id, p.KolyasMother).ExpectHubErrorAsync("direct_not_allowed");

        // Turned back on, it guards new chats again, and closes those it forbids (ParentLinkTests.SafeModeTurnedOn_…).
        await SetSafeModeAsync(p.School, on: true);
        await OpenDirectAsync(petyasMother, p.School.Id, p.Vasya).ExpectHubErrorAsync("direct_not_allowed");
        await OpenDirectAsync(petyasMother, p.School.Id, p.Masha).ExpectHubErrorAsync("direct_not_allowed");
        Assert.DoesNotContain(await petyasMother.ChatsAsync(p.School.Id), c => c.Id == withClassmate.Id);
    }

    [Fact]
    public async Task BlockPerson_PupilBlocksClassmate_ClassmateCannotOpenDirectChatUntilUnblocked()
    {
        var p = await SchoolAsync();
        await using var masha = await HubClient.ConnectAsync(app, p.Masha);
        await using var vasya = await HubClient.ConnectAsync(app, p.Vasya);

        await masha.Connection.InvokeAsync("BlockPerson", p.Vasya.AccountId, true);
        await masha.Connection.InvokeAsync("BlockPerson", p.Vasya.AccountId, true); // blocking twice is one block

        await OpenDirectAsync(vasya, p.School.Id, p.Masha).ExpectHubErrorAsync("direct_not_allowed");
        Assert.DoesNotContain(await masha.ChatsAsync(p.School.Id), c => c.Kind == "direct");
        Assert.Empty(masha.Memberships);

        // The block is one-way: Masha may still write to him herself; after she unblocks him he may too.
        await masha.Connection.InvokeAsync("BlockPerson", p.Vasya.AccountId, false);
        Assert.Equal("Маша", (await OpenDirectAsync(vasya, p.School.Id, p.Masha)).Title);

        await masha.Connection.InvokeAsync("BlockPerson", p.Masha.AccountId, true).ExpectHubErrorAsync("validation_failed");

        // Only people one shares a school with can be blocked; an unknown id is "not found", not a server error.
        await masha.Connection.InvokeAsync("BlockPerson", Guid.NewGuid(), true).ExpectHubErrorAsync("member_not_found");
        await masha.Connection.InvokeAsync("BlockPerson", Guid.NewGuid(), false);
    }

    [Fact]
    public async Task BlockPerson_WithADirectChatAlready_BlockedLeavesItAtOnce_CannotWriteOrReopen_UnblockBringsHimBack()
    {
        var p = await SchoolAsync();
        await using var masha = await HubClient.ConnectAsync(app, p.Masha);
        await using var vasya = await HubClient.ConnectAsync(app, p.Vasya);
        var chat = await OpenDirectAsync(vasya, p.School.Id, p.Masha);
        await vasya.SendAsync(chat.Id, "Привет, Маша");
        await HubClient.EventuallyAsync(() => masha.ReceivedIn(chat.Id).Any(), "Masha gets his first message");

        // Masha blocks him: he is out of their chat at once (live), cannot write there, cannot reopen it, reads nothing new.
        await masha.Connection.InvokeAsync("BlockPerson", p.Vasya.AccountId, true);
        await HubClient.EventuallyAsync(() => vasya.Memberships.Contains((chat.Id, false)), "his live connection leaves the chat");
        await vasya.SendAsync(chat.Id, "Почему ты молчишь?").ExpectHubErrorAsync("chat_not_found");
        await vasya.Connection.InvokeAsync<MessageDto>("React", chat.Id, 1L, "👍", true).ExpectHubErrorAsync("chat_not_found");
        await (await p.Vasya.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/messages", new { clientId = Guid.NewGuid(), text = "Через HTTP" })).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        await OpenDirectAsync(vasya, p.School.Id, p.Masha).ExpectHubErrorAsync("direct_not_allowed");
        await masha.SendAsync(chat.Id, "Не пиши мне");
        await Task.Delay(300);
        Assert.DoesNotContain(vasya.Received, m => m.ChatId == chat.Id && m.Seq == 2);
        Assert.DoesNotContain(await vasya.ChatsAsync(p.School.Id), c => c.Id == chat.Id);

        // Unblocked: he is back in the same chat, with its history.
        await masha.Connection.InvokeAsync("BlockPerson", p.Vasya.AccountId, false);
        await HubClient.EventuallyAsync(() => vasya.Memberships.Contains((chat.Id, true)), "his live connection is back");
        Assert.Equal([1L, 2L], (await vasya.HistoryAsync(chat.Id)).Select(m => m.Seq));
        Assert.Equal(chat.Id, (await OpenDirectAsync(vasya, p.School.Id, p.Masha)).Id);
        await vasya.SendAsync(chat.Id, "Извини");
    }

    [Fact]
    public async Task OpenDirectChat_WithMemberOfAnotherSchool_SchoolOrMemberNotFound()
    {
        var p = await SchoolAsync();
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var otherClass = await other.CreateClassAsync("5А");
        var stranger = await other.AddStudentAsync("Незнакомец", otherClass.Id);
        await using var petya = await HubClient.ConnectAsync(app, p.Petya);
        await using var teacher = await HubClient.ConnectAsync(app, p.SubjectTeacher);
        await using var strangerHub = await HubClient.ConnectAsync(app, stranger);

        // Naming the other school: "school not found", as for a school that does not exist.
        await OpenDirectAsync(petya, other.Id, stranger).ExpectHubErrorAsync("school_not_found");
        await OpenDirectAsync(teacher, other.Id, stranger).ExpectHubErrorAsync("school_not_found");
        await OpenDirectAsync(petya, Guid.NewGuid(), stranger).ExpectHubErrorAsync("school_not_found");

        // Naming one's own school and a person of another: "member not found", as for an id that does not exist.
        await OpenDirectAsync(petya, p.School.Id, stranger).ExpectHubErrorAsync("member_not_found");
        await OpenDirectAsync(teacher, p.School.Id, stranger).ExpectHubErrorAsync("member_not_found");
        await petya.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", p.School.Id, Guid.NewGuid()).ExpectHubErrorAsync("member_not_found");

        // And the other way round.
        await OpenDirectAsync(strangerHub, p.School.Id, p.Petya).ExpectHubErrorAsync("school_not_found");
        await OpenDirectAsync(strangerHub, other.Id, p.Petya).ExpectHubErrorAsync("member_not_found");
        Assert.DoesNotContain(await petya.ChatsAsync(null), c => c.Kind == "direct");
        Assert.Empty(strangerHub.Memberships);
    }

    /// <summary>A teacher and each of her pupils open their direct chat at the same moment: one chat per pair, no error.</summary>
    [Fact]
    public async Task OpenDirectChat_BothSidesAtOnce_OneChat()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        for (var i = 0; i < 8; i++)
        {
            var pupil = await school.AddStudentAsync($"Ученик {i}", class5A.Id);
            var both = await Task.WhenAll(
                teacher.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = pupil.AccountId }),
                pupil.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = teacher.AccountId }));
            var ids = new List<Guid>();
            foreach (var response in both)
            {
                ids.Add((await response.ReadAsync<ChatSummaryDto>()).Id);
            }

            Assert.Single(ids.Distinct());
        }
    }
}
