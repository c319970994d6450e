using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Lifecycle;

/// <summary>
/// A parent's place in a school over time, as a mother of several children sees it: linked to each child, out of the
/// school when the last child leaves, back when a child comes back.
/// </summary>
public sealed class ParentLinkTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static async Task<List<ChatSummaryDto>> ChatsAsync(TestUser user, Guid schoolId) =>
        (await user.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={schoolId}"))!;

    private static async Task<ChatSummaryDto> OpenDirectAsync(TestSchool school, TestUser who, TestUser with) =>
        await (await who.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = with.AccountId })).ReadAsync<ChatSummaryDto>();

    /// <summary>
    /// A mother of two: her son moved from Школа №1 to another school, her daughter still studies in the gymnasium. She
    /// leaves Школа №1 herself: her links to its pupils go, she leaves its chats (her direct chat with the teacher
    /// closes for both) and the school, the admins read it in the audit log; the gymnasium is as it was. Staff and pupils
    /// cannot leave this way; someone outside the school learns nothing.
    /// </summary>
    [Fact]
    public async Task ParentLeavesASchoolHerself_OutOfItsChatsAndTheSchool_HerOtherSchoolStays_StaffAndPupilsCannot()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Школа №1");
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var son = await school.AddStudentAsync("Петя", class5A.Id);
        var mother = await school.AddParentAsync("Мама Пети", son.AccountId);
        var direct = await OpenDirectAsync(school, mother, teacher);
        var gymnasium = await new SchoolBuilder(app).CreateAsync("Гимназия");
        var daughter = await gymnasium.AddStudentAsync("Катя", (await gymnasium.CreateClassAsync("7Б")).Id);
        await gymnasium.LinkParentAsync(mother, daughter.AccountId);
        await using var motherHub = await HubClient.ConnectAsync(app, mother);
        Assert.NotEmpty(await ChatsAsync(mother, school.Id));

        await (await teacher.Http.PostAsJsonAsync($"{school.Api}/leave", new { })).ExpectErrorAsync(HttpStatusCode.Forbidden, "leave_needs_admin");
        await (await son.Http.PostAsJsonAsync($"{school.Api}/leave", new { })).ExpectErrorAsync(HttpStatusCode.Forbidden, "leave_needs_admin");
        var outsider = await app.SignInAsync(SchoolBuilder.NewPhone(), "Посторонний");
        await (await outsider.Http.PostAsJsonAsync($"{school.Api}/leave", new { })).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        await (await mother.Http.PostAsJsonAsync($"{school.Api}/leave", new { reason = "Сын перешёл в другую школу" })).EnsureOkAsync();

        await HubClient.EventuallyAsync(() => motherHub.Memberships.Contains((direct.Id, false)), "her open connection leaves the direct chat");
        var mine = await mother.Http.GetFromJsonAsync<List<System.Text.Json.JsonElement>>("/api/me/schools");
        Assert.Equal([gymnasium.Id], mine!.Select(x => x.GetProperty("schoolId").GetGuid()));
        Assert.NotEmpty(await ChatsAsync(mother, gymnasium.Id));
        Assert.Empty(await ChatsAsync(mother, school.Id));
        Assert.DoesNotContain(await ChatsAsync(teacher, school.Id), c => c.Id == direct.Id);
        var parents = await (await school.Admin.Http.GetAsync($"{school.Api}/members")).ReadAsync<List<System.Text.Json.JsonElement>>();
        Assert.DoesNotContain(parents, m => m.GetProperty("accountId").GetGuid() == mother.AccountId);
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        var left = Assert.Single(audit!, e => e.Action == "parent.left");
        Assert.Equal(mother.AccountId, left.SubjectId);

        // Once out, she is an outsider there.
        await (await mother.Http.PostAsJsonAsync($"{school.Api}/leave", new { })).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
    }

    [Fact]
    public async Task ChildLeavesAndComesBack_MotherBackInTheSchool_OpensHerDirectChatWithTheTeacherAgain_WithItsHistory()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var pupil = await school.AddStudentAsync("Петя", class5A.Id);
        var mother = await school.AddParentAsync("Мама Пети", pupil.AccountId);
        var direct = await OpenDirectAsync(school, mother, teacher);
        await (await teacher.Http.PostAsJsonAsync($"/api/chats/{direct.Id}/messages", new { clientId = Guid.NewGuid(), text = "Петя забыл сменку" })).EnsureOkAsync();

        // Петя leaves (the family moves away for a term): his mother, with no other child here, leaves the school too.
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{pupil.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();
        await (await mother.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = teacher.AccountId })).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // He comes back to 5А and his mother follows a new link for him.
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);
        Assert.Equal("joined", (await TestSchool.AcceptAsync(pupil, invite)).Status);
        await school.LinkParentAsync(mother, pupil.AccountId);

        // Her chat with the class teacher is the same one, with its history, on both sides.
        var again = await OpenDirectAsync(school, mother, teacher);
        Assert.Equal((direct.Id, "Мария Ивановна", 2), (again.Id, again.Title, again.MemberCount));
        Assert.Contains(await ChatsAsync(mother, school.Id), c => c.Id == direct.Id);
        var history = await mother.Http.GetFromJsonAsync<List<MessageDto>>($"/api/chats/{direct.Id}/messages");
        Assert.Equal("Петя забыл сменку", Assert.Single(history!).Text);
        Assert.Equal(direct.Id, (await OpenDirectAsync(school, teacher, mother)).Id);
    }

    [Fact]
    public async Task TwinsInOneClass_MotherFollowsALinkForEach_SchoolApprovesParents_BothRequestsStay_SheIsLinkedToBoth()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", approveParents = true })).EnsureOkAsync();
        var class3B = await school.CreateClassAsync("3Б");
        var teacher = await school.AddVerifiedTeacherAsync("Ольга Петровна", class3B.Id);
        var masha = await school.AddStudentAsync("Маша Орлова", class3B.Id);
        var petya = await school.AddStudentAsync("Петя Орлов", class3B.Id);
        var mother = await app.SignInAsync(SchoolBuilder.NewPhone(), "Мама Орловых");

        // The class teacher sends her a link for each twin; she follows both before anyone decides.
        var forMasha = await TestSchool.AcceptAsync(mother, await school.InviteAsync(teacher, "parent", childId: masha.AccountId));
        var forPetya = await TestSchool.AcceptAsync(mother, await school.InviteAsync(teacher, "parent", childId: petya.AccountId));
        Assert.Equal(("pending", "pending"), (forMasha.Status, forPetya.Status));
        Assert.NotEqual(forMasha.JoinRequestId, forPetya.JoinRequestId);
        var pending = await teacher.Http.GetFromJsonAsync<List<JoinRequestDto>>($"{school.Api}/join-requests?status=pending");
        Assert.Equal(new HashSet<Guid?> { masha.AccountId, petya.AccountId }, pending!.Where(r => r.AccountId == mother.AccountId).Select(r => r.ChildId).ToHashSet());

        // Following Маша's link again changes nothing but the use count: still one request for her.
        Assert.Equal(forMasha.JoinRequestId, (await TestSchool.AcceptAsync(mother, await school.InviteAsync(teacher, "parent", childId: masha.AccountId))).JoinRequestId);

        foreach (var id in new[] { forMasha.JoinRequestId, forPetya.JoinRequestId })
        {
            await (await teacher.Http.PostAsJsonAsync($"{school.Api}/join-requests/{id}/approve", new { })).EnsureOkAsync();
        }

        var me = (await mother.Http.GetFromJsonAsync<List<MemberDto>>($"{school.Api}/members"))!.Single(m => m.AccountId == mother.AccountId);
        Assert.Equal(new HashSet<Guid> { masha.AccountId, petya.AccountId }, me.Children.ToHashSet());
        Assert.Single(await ChatsAsync(mother, school.Id), c => c.Kind == "parents" && c.ClassId == class3B.Id);
    }

    [Fact]
    public async Task OneOfTwoChildrenLeaves_MotherLeavesTheChatsOfHisClass_TheTeacherAddedHerTo_KeepsTheOthers()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class8B = await school.CreateClassAsync("8Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var younger = await school.AddStudentAsync("Младший", class5A.Id);
        var older = await school.AddStudentAsync("Старший", class8B.Id);
        var mother = await school.AddParentAsync("Мама", younger.AccountId);
        await school.LinkParentAsync(mother, older.AccountId);
        var trip = await (await teacher.Http.PostAsJsonAsync($"{school.Api}/chats",
            new { kind = "group", title = "Экскурсия 5А", classId = class5A.Id, memberIds = new[] { younger.AccountId, mother.AccountId } })).ReadAsync<ChatSummaryDto>();
        var council = await (await teacher.Http.PostAsJsonAsync($"{school.Api}/chats",
            new { kind = "group", title = "Родительский комитет", memberIds = new[] { mother.AccountId } })).ReadAsync<ChatSummaryDto>();

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{younger.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();

        // Nothing of 5А is hers any more; the older child's class chats and the school-wide group stay.
        var chats = await ChatsAsync(mother, school.Id);
        Assert.DoesNotContain(chats, c => c.ClassId == class5A.Id);
        Assert.Contains(chats, c => c.Kind == "parents" && c.ClassId == class8B.Id);
        Assert.Contains(chats, c => c.Id == council.Id);
        await (await mother.Http.GetAsync($"/api/chats/{trip.Id}/messages")).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
    }

    /// <summary>
    /// A link made by mistake is taken back by an admin: a stranger linked to the wrong child leaves the school with it;
    /// a mother whose other child keeps her in the school leaves only the chats of that child's class; the child stays.
    /// </summary>
    [Fact]
    public async Task AdminUnlinksParents_TheMistakenStrangerLeavesTheSchool_TheMotherKeptByHerDaughterLeavesOnlyHerSonsClass()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class6B = await school.CreateClassAsync("6Б");
        var misha = await school.AddStudentAsync("Миша Орлов", class5A.Id);
        var katya = await school.AddStudentAsync("Катя Орлова", class6B.Id);
        var mother = await school.AddParentAsync("Ирина Орлова", misha.AccountId);
        await school.LinkParentAsync(mother, katya.AccountId);
        var stranger = await school.AddParentAsync("Посторонний Человек", misha.AccountId);
        Assert.Contains(await ChatsAsync(stranger, school.Id), c => c.Kind == "parents" && c.ClassId == class5A.Id);
        string Unlink(TestUser child, TestUser parent) => $"{school.Api}/students/{child.AccountId}/parents/{parent.AccountId}/unlink";

        // Only an admin takes a link back.
        await (await mother.Http.PostAsJsonAsync(Unlink(misha, stranger), new { })).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");

        // The stranger had nothing else in the school: he is out of it.
        (await school.Admin.Http.PostAsJsonAsync(Unlink(misha, stranger), new { reason = "Ошибочная привязка" })).EnsureSuccessStatusCode();
        await (await stranger.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // The mother stays through Katya: out of 5А's parents' chat, still in 6Б's; Misha keeps his class.
        (await school.Admin.Http.PostAsJsonAsync(Unlink(misha, mother), new { })).EnsureSuccessStatusCode();
        var hers = await ChatsAsync(mother, school.Id);
        Assert.DoesNotContain(hers, c => c.ClassId == class5A.Id);
        Assert.Contains(hers, c => c.Kind == "parents" && c.ClassId == class6B.Id);
        Assert.Contains(await ChatsAsync(misha, school.Id), c => c.Kind == "class" && c.ClassId == class5A.Id);
        var members = await school.Admin.Http.GetFromJsonAsync<List<MemberDto>>($"{school.Api}/members");
        Assert.Equal([katya.AccountId], members!.Single(m => m.AccountId == mother.AccountId).Children);

        // No such link (any more): not found; the audit log names both.
        await (await school.Admin.Http.PostAsJsonAsync(Unlink(misha, mother), new { })).ExpectErrorAsync(HttpStatusCode.NotFound, "member_not_found");
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        Assert.Equal(2, audit!.Count(e => e.Action == "parent.unlinked" && (e.SubjectId == mother.AccountId || e.SubjectId == stranger.AccountId)));
    }

    /// <summary>
    /// A mother wrongly linked to another family's child (a leaked one-child link) opens a direct chat with him. Once the
    /// admin unlinks her, she stays in the school through her own son, but the chat with that child closes for both:
    /// neither lists it, she can neither write there nor open it again, and neither can he. Linked again (say the link
    /// was right after all), she finds the same chat with its history.
    /// </summary>
    [Fact]
    public async Task MotherUnlinkedFromAnotherFamilysChild_TheirDirectChatClosesForBoth_AndComesBackWithItsHistoryOnlyIfLinkedAgain()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class6B = await school.CreateClassAsync("6Б");
        var kolya = await school.AddStudentAsync("Коля Смирнов", class6B.Id);
        var mother = await school.AddParentAsync("Анна Смирнова", kolya.AccountId);
        var petya = await school.AddStudentAsync("Петя Иванов", class5A.Id);
        await school.LinkParentAsync(mother, petya.AccountId);
        var direct = await OpenDirectAsync(school, mother, petya);
        await (await mother.Http.PostAsJsonAsync($"/api/chats/{direct.Id}/messages", new { clientId = Guid.NewGuid(), text = "Петя, я заберу тебя после уроков" })).EnsureOkAsync();
        var kolyasChat = await OpenDirectAsync(school, mother, kolya);

        (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{petya.AccountId}/parents/{mother.AccountId}/unlink", new { reason = "Чужая ссылка" })).EnsureSuccessStatusCode();

        Assert.DoesNotContain(await ChatsAsync(mother, school.Id), c => c.Id == direct.Id);
        Assert.DoesNotContain(await ChatsAsync(petya, school.Id), c => c.Id == direct.Id);
        Assert.Contains(await ChatsAsync(mother, school.Id), c => c.Id == kolyasChat.Id); // her own son's chat stays
        await (await mother.Http.PostAsJsonAsync($"/api/chats/{direct.Id}/messages", new { clientId = Guid.NewGuid(), text = "Ты где?" })).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        await (await mother.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = petya.AccountId })).ExpectErrorAsync(HttpStatusCode.Forbidden, "direct_not_allowed");
        await (await petya.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = mother.AccountId })).ExpectErrorAsync(HttpStatusCode.Forbidden, "direct_not_allowed");

        await school.LinkParentAsync(mother, petya.AccountId);
        var again = await OpenDirectAsync(school, petya, mother);
        Assert.Equal((direct.Id, 2), (again.Id, again.MemberCount));
        var history = await mother.Http.GetFromJsonAsync<List<MessageDto>>($"/api/chats/{direct.Id}/messages");
        Assert.Equal("Петя, я заберу тебя после уроков", Assert.Single(history!).Text);
    }

    /// <summary>
    /// Under safe mode, a pupil moved to another class no longer reaches his former classmate: their direct chat closes
    /// for both; his chat with his teacher stays. A teacher who left the staff but stays as a mother loses her direct
    /// chats with other families' children, and keeps the one with her own son; she keeps the groups of her son's class
    /// (the trip the class teacher made for its parents; one she made herself, as a plain member now), as the «Покинул
    /// школу» dialog promises, and loses the subject chat she taught there and the groups of her own class.
    /// </summary>
    [Fact]
    public async Task PupilMovesClass_ChatWithAFormerClassmateCloses_TeacherLeavesStaffButStaysAsMother_KeepsOnlyHerOwnChildsChat()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var vasya = await school.AddStudentAsync("Вася", class5A.Id);
        var son = await school.AddStudentAsync("Сын учительницы", class5B.Id);
        await school.LinkParentAsync(teacher, son.AccountId);
        var classmates = await OpenDirectAsync(school, petya, vasya);
        var petyaAndTeacher = await OpenDirectAsync(school, teacher, petya);
        var motherAndSon = await OpenDirectAsync(school, teacher, son);
        var teacher5B = await school.AddVerifiedTeacherAsync("Классный руководитель 5Б", class5B.Id);
        async Task<ChatSummaryDto> CreateChatAsync(TestUser by, string kind, string title, Guid classId, params Guid[] memberIds) =>
            await (await by.Http.PostAsJsonAsync($"{school.Api}/chats", new { kind, title, classId, memberIds })).ReadAsync<ChatSummaryDto>();
        var trip5B = await CreateChatAsync(teacher5B, "group", "Поездка 5Б", class5B.Id, teacher.AccountId, son.AccountId);
        var gift5B = await CreateChatAsync(teacher, "group", "Подарок учителю 5Б", class5B.Id, son.AccountId);
        var math5B = await CreateChatAsync(teacher, "subject", "Математика 5Б", class5B.Id, son.AccountId);
        var trip5A = await CreateChatAsync(teacher, "group", "Поездка 5А", class5A.Id, vasya.AccountId);

        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{petya.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        Assert.DoesNotContain(await ChatsAsync(petya, school.Id), c => c.Id == classmates.Id);
        Assert.DoesNotContain(await ChatsAsync(vasya, school.Id), c => c.Id == classmates.Id);
        Assert.Contains(await ChatsAsync(petya, school.Id), c => c.Id == petyaAndTeacher.Id);

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/staff/{teacher.AccountId}/leave", new { reason = "Уволилась" })).EnsureOkAsync();
        var hers = await ChatsAsync(teacher, school.Id);
        Assert.DoesNotContain(hers, c => c.Id == petyaAndTeacher.Id);
        Assert.Contains(hers, c => c.Id == motherAndSon.Id);
        await (await petya.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = teacher.AccountId })).ExpectErrorAsync(HttpStatusCode.Forbidden, "direct_not_allowed");
        Assert.Equal(new[] { trip5B.Id, gift5B.Id }.Order(), hers.Where(c => c.Kind is "group" or "subject").Select(c => c.Id).Order());
        Assert.DoesNotContain(hers, c => c.Id == math5B.Id || c.Id == trip5A.Id);
        var giftMembers = await (await teacher5B.Http.GetAsync($"/api/chats/{gift5B.Id}/members")).ReadAsync<List<ChatMemberDto>>();
        Assert.Equal(("member", "owner"), (giftMembers.Single(m => m.AccountId == teacher.AccountId).Role, giftMembers.Single(m => m.AccountId == teacher5B.AccountId).Role));
    }

    /// <summary>
    /// The mother opens her chat with Petya while the admin is unlinking her (the unlink holds the school and closes the
    /// chat). The open waits for it and then decides on what is true after it: refused, and nobody is put back.
    /// </summary>
    [Fact]
    public async Task OpeningADirectChatWhileTheParentIsUnlinked_WaitsForTheUnlink_IsRefused_NobodyPutBack()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var kolya = await school.AddStudentAsync("Коля", class5A.Id);
        var mother = await school.AddParentAsync("Анна", kolya.AccountId);
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        await school.LinkParentAsync(mother, petya.AccountId);
        var direct = await OpenDirectAsync(school, mother, petya);

        // What the unlink does, held open: the school locked, the link gone, the chat closed.
        await using var admin = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await admin.OpenAsync();
        await using var unlink = await admin.BeginTransactionAsync();
        await Dapper.SqlMapper.ExecuteAsync(admin, "SELECT 1 FROM schools WHERE id = @id FOR UPDATE", new { id = school.Id }, unlink);
        var open = mother.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = petya.AccountId });
        await Chat.Testing.LockWaiters.WaitAsync(app.ConnectionString, 1);
        await Dapper.SqlMapper.ExecuteAsync(admin,
            "DELETE FROM parent_links WHERE parent_id = @mother AND child_id = @petya; DELETE FROM chat_members WHERE chat_id = @chat",
            new { mother = mother.AccountId, petya = petya.AccountId, chat = direct.Id }, unlink);
        await unlink.CommitAsync();

        await (await open).ExpectErrorAsync(HttpStatusCode.Forbidden, "direct_not_allowed");
        Assert.DoesNotContain(await ChatsAsync(petya, school.Id), c => c.Id == direct.Id);
    }

    /// <summary>
    /// With safe mode off, another class's parent may write to a pupil. Turning safe mode on closes that direct chat for
    /// both; a chat the rules still allow (the pupil's own class teacher) stays.
    /// </summary>
    [Fact]
    public async Task SafeModeTurnedOn_ClosesADirectChatOfAPupilAndAnotherClasssParent_KeepsTheClassTeachers()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", pupilSafeMode = false })).EnsureOkAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class6B = await school.CreateClassAsync("6Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var petya = await school.AddStudentAsync("Петя Иванов", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля Смирнов", class6B.Id);
        var kolyasFather = await school.AddParentAsync("Олег Смирнов", kolya.AccountId);
        var withFather = await OpenDirectAsync(school, kolyasFather, petya);
        var withTeacher = await OpenDirectAsync(school, teacher, petya);

        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", pupilSafeMode = true })).EnsureOkAsync();

        var petyas = await ChatsAsync(petya, school.Id);
        Assert.DoesNotContain(petyas, c => c.Id == withFather.Id);
        Assert.Contains(petyas, c => c.Id == withTeacher.Id);
        Assert.DoesNotContain(await ChatsAsync(kolyasFather, school.Id), c => c.Id == withFather.Id);
        await (await petya.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = kolyasFather.AccountId })).ExpectErrorAsync(HttpStatusCode.Forbidden, "direct_not_allowed");

        // The journal says which switch each change turned, so another admin can tell who turned safe mode off (and on);
        // a change of nothing but the name names no switch.
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1 им. Пушкина", approveParents = true })).EnsureOkAsync();
        var csv = await school.Admin.Http.GetStringAsync($"{school.Api}/audit.csv");
        var updates = csv.Split('\n').Where(l => l.Contains("сведения о школе изменены", StringComparison.Ordinal)).ToList();
        Assert.Single(updates, l => l.Contains("безопасный режим учеников выключен", StringComparison.Ordinal));
        Assert.Single(updates, l => l.Contains("безопасный режим учеников включён", StringComparison.Ordinal));
        Assert.Single(updates, l => l.Contains("им. Пушкина", StringComparison.Ordinal) && l.Contains("заявки родителей: с одобрением", StringComparison.Ordinal)
            && !l.Contains("безопасный", StringComparison.Ordinal));
    }

    /// <summary>
    /// A pupil who followed a classmate's parent link (a prank, a shared phone) is unlinked by the admin: he loses the
    /// link, not his own class's chats.
    /// </summary>
    [Fact]
    public async Task PupilLinkedAsAClassmatesParent_IsUnlinked_KeepsHisOwnClassesChats()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var vova = await school.AddStudentAsync("Вова Шутов", class5A.Id);
        var petya = await school.AddStudentAsync("Петя Тихий", class5A.Id);
        await school.LinkParentAsync(vova, petya.AccountId);
        var trip = await (await teacher.Http.PostAsJsonAsync($"{school.Api}/chats",
            new { kind = "group", title = "Экскурсия 5А", classId = class5A.Id, memberIds = new[] { vova.AccountId, petya.AccountId } })).ReadAsync<ChatSummaryDto>();

        (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{petya.AccountId}/parents/{vova.AccountId}/unlink", new { })).EnsureSuccessStatusCode();

        var his = await ChatsAsync(vova, school.Id);
        Assert.Contains(his, c => c.Id == trip.Id);
        Assert.Contains(his, c => c.Kind == "class" && c.ClassId == class5A.Id);
        Assert.DoesNotContain(his, c => c.Kind == "parents");
    }

    /// <summary>
    /// A pupil moved to another class leaves the old class's chats a teacher added him to by hand (a class trip's group),
    /// and so does his mother — but only once no child of hers is left in that class; chats of no class stay.
    /// </summary>
    [Fact]
    public async Task TwinsMoveToAnotherClassOneByOne_EachLeavesTheOldClassesTripChat_TheMotherWithTheLastOne()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля Смирнов", class5A.Id);
        var olya = await school.AddStudentAsync("Оля Смирнова", class5A.Id);
        var mother = await school.AddParentAsync("Наталья Смирнова", kolya.AccountId);
        await school.LinkParentAsync(mother, olya.AccountId);
        var trip = await (await teacher.Http.PostAsJsonAsync($"{school.Api}/chats",
            new { kind = "group", title = "Экскурсия 5А", classId = class5A.Id, memberIds = new[] { kolya.AccountId, olya.AccountId, mother.AccountId } })).ReadAsync<ChatSummaryDto>();
        var choir = await (await teacher.Http.PostAsJsonAsync($"{school.Api}/chats",
            new { kind = "group", title = "Хор", memberIds = new[] { kolya.AccountId, mother.AccountId } })).ReadAsync<ChatSummaryDto>();
        async Task Move(TestUser pupil) =>
            await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{pupil.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();

        // Kolya moves: out of 5А's trip, into 5Б's class chat, still in the choir; his mother stays in the trip for Olya.
        await Move(kolya);
        var his = await ChatsAsync(kolya, school.Id);
        Assert.DoesNotContain(his, c => c.ClassId == class5A.Id);
        Assert.Contains(his, c => c.Kind == "class" && c.ClassId == class5B.Id);
        Assert.Contains(his, c => c.Id == choir.Id);
        Assert.Contains(await ChatsAsync(mother, school.Id), c => c.Id == trip.Id);
        Assert.Contains(await ChatsAsync(olya, school.Id), c => c.Id == trip.Id);

        // Olya follows: now nothing of 5А is the mother's either; the choir stays.
        await Move(olya);
        var hers = await ChatsAsync(mother, school.Id);
        Assert.DoesNotContain(hers, c => c.ClassId == class5A.Id);
        Assert.Contains(hers, c => c.Kind == "parents" && c.ClassId == class5B.Id);
        Assert.Contains(hers, c => c.Id == choir.Id);
    }
}
