using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Lifecycle;
using Chat.Hub.Features.Schools;
using Chat.Hub.Features.Statistics;
using Chat.Hub.Tests.Infrastructure;
using Chat.Storage.Statistics;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Lifecycle;

/// <summary>The school year: pupils move and leave (with the sibling rule), the year rolls over, statistics, account deletion.</summary>
public sealed class LifecycleStoryTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static async Task<List<ChatSummaryDto>> ChatsAsync(TestUser user, Guid schoolId) =>
        (await user.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={schoolId}"))!;

    [Fact]
    public async Task PupilWithSiblingLeaves_ParentStaysInSiblingsClassChats_LeavesTheOthers()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class8B = await school.CreateClassAsync("8Б");
        var older = await school.AddStudentAsync("Старший", class8B.Id);
        var younger = await school.AddStudentAsync("Младший", class5A.Id);
        var mother = await school.AddParentAsync("Мама", younger.AccountId);
        await school.LinkParentAsync(mother, older.AccountId);
        var onlyChildParent = await school.AddParentAsync("Папа одного", younger.AccountId);
        Assert.Equal(2, (await ChatsAsync(mother, school.Id)).Count(c => c.Kind == "parents"));
        await using var motherHub = await HubClient.ConnectAsync(app, mother);

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{younger.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();

        // The mother keeps the older child's class chats, and loses 5А's parents' chat at once (live too).
        var motherChats = await ChatsAsync(mother, school.Id);
        Assert.Contains(motherChats, c => c.Kind == "parents" && c.ClassId == class8B.Id);
        Assert.DoesNotContain(motherChats, c => c.ClassId == class5A.Id);
        await HubClient.EventuallyAsync(() => motherHub.Memberships.Any(m => !m.Added), "the live removal");

        // The pupil and the parent of no other child are out of the school entirely.
        await (await younger.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await onlyChildParent.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        Assert.Empty(await ChatsAsync(onlyChildParent, school.Id));
    }

    /// <summary>
    /// A pupil who moves into a class, or joins it late by its link, is in the class's subject chats as the classmates
    /// are — those that hold the whole class; a chat of a group of the class stays as its teacher made it.
    /// </summary>
    [Fact]
    public async Task PupilNewToAClass_JoinsItsWholeClassSubjectChats_NotAGroupsChat_ParentsNot()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var school = room.School;
        var class5B = (await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes", Chat.Hub.Infrastructure.ChatJson.Options))!
            .Single(c => c.Name == "5Б");
        var vova = await school.AddStudentAsync("Вова", class5B.Id);
        var english = await school.AddVerifiedTeacherAsync("Учитель английского");
        await using var teacherHub = await HubClient.ConnectAsync(app, english);
        var math = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Математика 5Б", class5B.Id, null, [room.Kolya.AccountId, vova.AccountId]));
        var group2 = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Английский 5Б, 2-я группа", class5B.Id, null, [vova.AccountId]));
        var trip = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Поездка 5Б", class5B.Id, null, [room.Kolya.AccountId, vova.AccountId]));
        async Task<List<Guid>> MembersAsync(Guid chatId) =>
            (await teacherHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", chatId)).Select(m => m.AccountId).ToList();

        // Petya moves from 5А to 5Б: his open connection joins the mathematics chat of the whole class at once.
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{room.Petya.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        await HubClient.EventuallyAsync(() => petyaHub.Memberships.Contains((math.Id, true)), "his live connection joins Математика 5Б");
        Assert.Contains(room.Petya.AccountId, await MembersAsync(math.Id));
        Assert.True((await petyaHub.SendAsync(math.Id, "Здравствуйте, я новенький")).Seq > 0);
        // Not the chat of one group of the class, nor the trip's group, and his mother is not put in with the pupils.
        Assert.DoesNotContain(room.Petya.AccountId, await MembersAsync(group2.Id));
        Assert.DoesNotContain(room.Petya.AccountId, await MembersAsync(trip.Id));
        Assert.DoesNotContain(room.Mother.AccountId, await MembersAsync(math.Id));

        // A pupil joining 5Б late by its link is in it too; the mathematics teacher need not add each newcomer by hand.
        var newcomer = await school.AddStudentAsync("Новенькая Оля", class5B.Id);
        Assert.Contains(newcomer.AccountId, await MembersAsync(math.Id));
        Assert.DoesNotContain(newcomer.AccountId, await MembersAsync(group2.Id));
    }

    [Fact]
    public async Task PupilMovesClass_ChatsFollowForPupilAndParents()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);
        var parent = await school.AddParentAsync("Родитель", pupil.AccountId);

        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{pupil.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();

        Assert.Equal(class5B.Id, (await ChatsAsync(pupil, school.Id)).Single(c => c.Kind == "class").ClassId);
        Assert.Equal(class5B.Id, (await ChatsAsync(parent, school.Id)).Single(c => c.Kind == "parents").ClassId);
    }

    /// <summary>
    /// The audit log names whom an entry is about also once they are gone from the school: a pupil who left, a refused
    /// applicant (whose entry's subject is the request) — on the page's list and in the CSV.
    /// </summary>
    [Fact]
    public async Task AuditLog_NamesAPupilWhoLeft_AndARefusedApplicant_OnTheListAndInTheCsv()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var pupil = await school.AddStudentAsync("Артём Уехавший", class5A.Id);
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{pupil.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();
        var invite = await school.InviteAsync(school.Admin, "parent", class5A.Id);
        var applicant = await app.SignInAsync(SchoolBuilder.NewPhone(), "Незнакомка Иванова");
        var pending = await TestSchool.AcceptAsync(applicant, invite, childName: "Петя");
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{pending.JoinRequestId}/reject", new { reason = "Такого ученика нет" })).EnsureOkAsync();

        var log = (await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit"))!;
        Assert.Equal("Артём Уехавший", log.First(e => e.Action == "student.left").SubjectName);
        Assert.Equal("Незнакомка Иванова", log.First(e => e.Action == "join_request.rejected").SubjectName);
        var csv = await school.Admin.Http.GetStringAsync($"{school.Api}/audit.csv");
        Assert.Contains("Артём Уехавший", csv, StringComparison.Ordinal);
        Assert.Contains("Незнакомка Иванова", csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rollover_Promotes5АTo6А_GraduatesEleventh_HistoryStaysWithTheClassTeacher()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var ending = DateTime.UtcNow.Year - 1; // the year that ends: the rollover moves the school into the one starting this September
        var class5A = await school.CreateClassAsync("5А", ending);
        var class11 = await school.CreateClassAsync("11А", ending);
        var teacher11 = await school.AddVerifiedTeacherAsync("Классный руководитель 11А", class11.Id);
        var pupil5 = await school.AddStudentAsync("Пятиклассник", class5A.Id);
        var graduate = await school.AddStudentAsync("Выпускник", class11.Id);
        var graduateChat = (await ChatsAsync(graduate, school.Id)).Single(c => c.Kind == "class");
        await graduate.Http.PostAsJsonAsync($"/api/chats/{graduateChat.Id}/messages", new { clientId = Guid.NewGuid(), text = "Спасибо за все годы!" });
        var link11 = await school.InviteAsync(school.Admin, "parent", class11.Id);
        var link5 = await school.InviteAsync(school.Admin, "parent", class5A.Id);

        // A group of the same name made for next year already: the rollover says which, and changes nothing.
        var club = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "Кружок робототехники", kind = "group", schoolYear = ending })).ReadAsync<ClassDto>();
        var nextYears = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "Кружок робототехники", kind = "group", schoolYear = club.SchoolYear + 1 })).ReadAsync<ClassDto>();
        var refused = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ExpectErrorAsync(HttpStatusCode.Conflict, "class_name_taken");
        Assert.Contains("Кружок робототехники", refused.Detail, StringComparison.Ordinal);
        Assert.Equal("5А", (await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes"))!.Single(c => c.Id == class5A.Id).Name);
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{nextYears.Id}", new { name = "Кружок робототехники (новый)" })).EnsureOkAsync();

        var result = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ReadAsync<RolloverResult>();
        Assert.Equal((2, 1, 1, ending + 1), (result.Promoted, result.Graduated, result.PupilsLeft, result.SchoolYear)); // 5А and this year's club; next year's stays

        var classes = await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes");
        var promoted = classes!.Single(c => c.Id == class5A.Id);
        Assert.Equal(("6А", 6, class5A.SchoolYear + 1), (promoted.Name, promoted.Grade, promoted.SchoolYear));
        Assert.DoesNotContain(classes!, c => c.Id == class11.Id);
        Assert.Equal(club.SchoolYear + 1, classes!.Single(c => c.Id == club.Id).SchoolYear);
        Assert.Equal(club.SchoolYear + 1, classes!.Single(c => c.Id == nextYears.Id).SchoolYear);
        Assert.Equal("6А", (await ChatsAsync(pupil5, school.Id)).Single(c => c.Kind == "class").Title);

        // The graduate left; the class teacher still reads the archived class chat's history.
        await (await graduate.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        var history = await teacher11.Http.GetFromJsonAsync<List<MessageDto>>($"/api/chats/{graduateChat.Id}/messages");
        Assert.Equal("Спасибо за все годы!", Assert.Single(history!).Text);

        // The graduated class's link is revoked with it; the promoted class's goes on (to 6А).
        var links = await school.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Invites.InviteDto>>($"{school.Api}/invites");
        Assert.Equal(("revoked", "active"), (links!.Single(i => i.Id == link11.Id).State, links!.Single(i => i.Id == link5.Id).State));
    }

    /// <summary>
    /// June: the admin rolls over, then in August makes next September's first grade without naming a year. It belongs
    /// to the new year (by the calendar it would still be the old one, and the next rollover would move it alone); a
    /// second rollover in the same summer (a double click, a retry) is refused, and nothing moves twice.
    /// </summary>
    [Fact]
    public async Task Rollover_ClassMadeAfterIt_BelongsToTheNewYear_ASecondRolloverTheSameYearIsRefused()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var ending = DateTime.UtcNow.Year - 1;
        var class5A = await school.CreateClassAsync("5А", ending);
        var class10 = await school.CreateClassAsync("10А", ending);
        var pupil10 = await school.AddStudentAsync("Десятиклассник", class10.Id);

        var result = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ReadAsync<RolloverResult>();
        Assert.Equal((2, 0, ending + 1), (result.Promoted, result.Graduated, result.SchoolYear));
        var firstGrade = await school.CreateClassAsync("1А");
        Assert.Equal(ending + 1, firstGrade.SchoolYear);

        var again = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ExpectErrorAsync(HttpStatusCode.Conflict, "already_rolled_over");
        Assert.Contains($"{ending + 1}/", again.Detail, StringComparison.Ordinal);
        var classes = (await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes"))!;
        Assert.Equal(("6А", "11А", "1А"),
            (classes.Single(c => c.Id == class5A.Id).Name, classes.Single(c => c.Id == class10.Id).Name, classes.Single(c => c.Id == firstGrade.Id).Name));
        Assert.All(classes.Where(c => c.Kind == "class"), c => Assert.Equal(ending + 1, c.SchoolYear));
        await (await pupil10.Http.GetAsync(school.Api)).EnsureOkAsync(); // the new eleventh-grader did not graduate

        // From June to August the calendar still counts the old year while the school is in the new one: a class made
        // then belongs to the school's year. (Today's date may fall in any month, so the school is put a year ahead.)
        await app.ExecuteSqlAsync("UPDATE schools SET rolled_over_to = @year WHERE id = @id", new { year = ending + 2, id = school.Id });
        Assert.Equal(ending + 2, (await school.CreateClassAsync("1Б")).SchoolYear);
    }

    /// <summary>
    /// «10Б» renamed «11Б» (a class made under the wrong name) takes its grade from the new name, as at creation, and
    /// graduates at the rollover; before, it kept grade 10, rolled over as «11Б → 11Б» and graduated a year late. A
    /// letter given with the new name is kept; with a grade given, the name is only a name.
    /// </summary>
    [Fact]
    public async Task Rollover_ClassRenamedToAnotherGrade_TakesTheGradeFromTheName_Graduates()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var ending = DateTime.UtcNow.Year - 1;
        var class10 = await school.CreateClassAsync("10Б", ending);
        var class7 = await school.CreateClassAsync("7А", ending);
        var class3 = await school.CreateClassAsync("3В", ending);
        var pupil = await school.AddStudentAsync("Выпускник", class10.Id);
        async Task<ClassDto> RenameAsync(Guid classId, object body) =>
            await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{classId}", body)).ReadAsync<ClassDto>();

        var renamed = await RenameAsync(class10.Id, new { name = "11Б" });
        Assert.Equal(("11Б", 11, "Б"), (renamed.Name, renamed.Grade, renamed.Letter));
        var lettered = await RenameAsync(class7.Id, new { name = "8 класс", letter = "Г" });
        Assert.Equal((8, "Г"), (lettered.Grade, lettered.Letter));
        var graded = await RenameAsync(class3.Id, new { name = "Класс коррекции", grade = 3 });
        Assert.Equal((3, "В"), (graded.Grade, graded.Letter));
        // A name with no grade in it (the web client sends the name alone) keeps the grade the class has.
        var worded = await RenameAsync(class3.Id, new { name = "Третий В" });
        Assert.Equal((3, "В"), (worded.Grade, worded.Letter));

        var result = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ReadAsync<RolloverResult>();
        Assert.Equal((2, 1, 1), (result.Promoted, result.Graduated, result.PupilsLeft));
        Assert.Contains("11Б → выпуск", result.Classes);
        Assert.Contains("8 класс → 9 класс", result.Classes);
        await (await pupil.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
    }

    /// <summary>
    /// The rollover archives a promoted class's subject chats of the year that ended: «Физика 5А» stays readable to its
    /// members (told at once) and takes no messages, and a pupil who joins 6А in September is not put into it with last
    /// year's history; a subject chat made for the new year is joined as before, and the class's group stays active.
    /// Before, «Физика 5А» stayed an active chat of 6А and every newcomer was added to it and every older one.
    /// </summary>
    [Fact]
    public async Task Rollover_ArchivesTheClasssSubjectChatsOfTheEndedYear_ANewPupilJoinsOnlyTheNewYearsOnes()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var ending = DateTime.UtcNow.Year - 1;
        var class5A = await school.CreateClassAsync("5А", ending);
        var physicist = await school.AddVerifiedTeacherAsync("Учитель физики");
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var masha = await school.AddStudentAsync("Маша", class5A.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, physicist);
        var oldPhysics = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Физика 5А", class5A.Id, null, [petya.AccountId, masha.AccountId]));
        var trip = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Поездка 5А", class5A.Id, null, [petya.AccountId, masha.AccountId]));
        await teacherHub.SendAsync(oldPhysics.Id, "Итоговая контрольная в пятницу");
        await using var petyaHub = await HubClient.ConnectAsync(app, petya);

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).EnsureOkAsync();

        // Last year's subject chat is archived, its members told at once; its history stays, it takes nothing new.
        await HubClient.EventuallyAsync(() => petyaHub.ChatUpdates.Any(u => u.ChatId == oldPhysics.Id && u.Archived), "Петя's page is told «Физика 5А» is archived");
        var petyasChats = await ChatsAsync(petya, school.Id);
        Assert.Equal((true, false), (petyasChats.Single(c => c.Id == oldPhysics.Id).Archived, petyasChats.Single(c => c.Id == oldPhysics.Id).CanPost));
        Assert.False(petyasChats.Single(c => c.Id == trip.Id).Archived);
        Assert.Equal("Итоговая контрольная в пятницу", Assert.Single(await petyaHub.HistoryAsync(oldPhysics.Id)).Text);
        await petyaHub.SendAsync(oldPhysics.Id, "А оценки уже есть?").ExpectHubErrorAsync("chat_archived");

        // This year's physics of 6А; a pupil who joins 6А in September is in it, and not in last year's.
        var newPhysics = await teacherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Физика 6А", class5A.Id, null, [petya.AccountId, masha.AccountId]));
        var newcomer = await school.AddStudentAsync("Новенькая Оля", class5A.Id);
        async Task<List<Guid>> MembersAsync(Guid chatId) =>
            (await teacherHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", chatId)).Select(m => m.AccountId).ToList();
        Assert.Contains(newcomer.AccountId, await MembersAsync(newPhysics.Id));
        Assert.DoesNotContain(newcomer.AccountId, await MembersAsync(oldPhysics.Id));
        Assert.DoesNotContain(await ChatsAsync(newcomer, school.Id), c => c.Id == oldPhysics.Id);
    }

    /// <summary>A class named «9…» of 60 characters cannot become «10…» of 61: the rollover names it and changes nothing.</summary>
    [Fact]
    public async Task Rollover_AClassWhoseNextNameIsTooLong_IsNamed_NothingChanges()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var ending = DateTime.UtcNow.Year - 1;
        var class5A = await school.CreateClassAsync("5А", ending);
        var longName = "9" + new string('А', 59);
        var long9 = await school.CreateClassAsync(longName, ending);
        Assert.Equal(9, long9.Grade);

        var refused = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/rollover", new { })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains(longName, refused.Errors!["classes"][0], StringComparison.Ordinal);
        var classes = await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes");
        Assert.Equal(("5А", longName), (classes!.Single(c => c.Id == class5A.Id).Name, classes!.Single(c => c.Id == long9.Id).Name));
    }

    [Fact]
    public async Task Statistics_CountJoinedParentsPerClass_ActiveUsers_FilesAndStorage()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var p1 = await school.AddStudentAsync("Ученик 1", class5A.Id);
        var p2 = await school.AddStudentAsync("Ученик 2", class5A.Id);
        await school.AddStudentAsync("Ученик 3", class5A.Id);
        var mother = await school.AddParentAsync("Мама 1 и 2", p1.AccountId);
        await school.LinkParentAsync(mother, p2.AccountId);
        await school.AddParentAsync("Папа 1", p1.AccountId);
        var teacher = await school.AddVerifiedTeacherAsync("Учитель физики");
        await (await school.Admin.Http.PutAsync($"{school.Api}/directors/{teacher.AccountId}", null)).EnsureOkAsync();
        await using (await HubClient.ConnectAsync(app, p1))
        {
            // Connecting counts as being active today.
        }

        // Two PDFs (one of them the same content twice: stored once) and a photo.
        var pdf = SampleFiles.Pdf(10_000);
        var photo = SampleFiles.Png(64, 48);
        await (await Files.FileCalls.UploadAsync(teacher, school.Id, "Задание.pdf", pdf)).EnsureOkAsync();
        await (await Files.FileCalls.UploadAsync(p1, school.Id, "Задание (копия).pdf", pdf)).EnsureOkAsync();
        await (await Files.FileCalls.UploadAsync(p2, school.Id, "Рисунок.png", photo)).EnsureOkAsync();

        var stats = await (await school.Admin.Http.GetAsync($"{school.Api}/statistics")).ReadAsync<SchoolStatsDto>();
        var row = stats.Classes.Single(c => c.ClassId == class5A.Id);
        Assert.Equal((3, 2, 2), (row.PupilsJoined, row.ParentsJoined, row.PupilsWithParent));
        Assert.Equal(1, stats.ActiveUsers.Single(a => a.Role == "student").Day);

        // The whole school by role: joined against invite-link uses.
        Assert.Equal(["teacher", "student", "parent"], stats.Roles.Select(r => r.Role));
        Assert.Equal((3, 3), stats.Roles.Single(r => r.Role == "student") is var s ? (s.Joined, s.LinkUses) : default);
        Assert.Equal((2, 3), stats.Roles.Single(r => r.Role == "parent") is var p ? (p.Joined, p.LinkUses) : default);
        Assert.Equal((1, 1), stats.Roles.Single(r => r.Role == "teacher") is var t ? (t.Joined, t.LinkUses) : default);

        // Files by kind, and storage against the quota (identical content counted once).
        var documents = stats.Files.ByKind.Single(k => k.Kind == "document");
        var images = stats.Files.ByKind.Single(k => k.Kind == "image");
        Assert.Equal((2, (long)pdf.Length, 2), (documents.Files, documents.Bytes, documents.FilesLast30Days));
        Assert.Equal((1, (long)photo.Length), (images.Files, images.Bytes));
        Assert.Equal(0, stats.Files.ByKind.Single(k => k.Kind == "video").Files);
        Assert.True(stats.Files.StorageUsedBytes >= pdf.Length + photo.Length, "used bytes include each content (and thumbnails) once");
        Assert.True(stats.Files.StorageQuotaBytes > stats.Files.StorageUsedBytes);

        // The same as CSV for a Russian-locale spreadsheet: «;» between fields, Russian headers and words, plain integers.
        var csv = await school.Admin.Http.GetStringAsync($"{school.Api}/statistics.csv");
        Assert.StartsWith("\"Раздел\";\"Роль\";\"Вступили\";\"Вступили по ссылке\";\"Ждут одобрения\"\n", csv.TrimStart('\uFEFF'), StringComparison.Ordinal);
        Assert.Contains("\n\"По классам\";\"5А\";3;2;2;", csv, StringComparison.Ordinal);
        Assert.Contains("\n\"По ролям\";\"родители\";2;3;0\n", csv, StringComparison.Ordinal);
        Assert.Contains("\n\"Активные участники\";\"ученики\";1;1;1\n", csv, StringComparison.Ordinal);
        Assert.Contains($"\n\"Файлы\";\"Документы\";2;{pdf.Length};2\n", csv, StringComparison.Ordinal);
        Assert.Contains($"\n\"Хранилище\";{stats.Files.StorageUsedBytes};{stats.Files.StorageQuotaBytes}\n", csv, StringComparison.Ordinal);
        Assert.Contains("\n\"Раздел\";\"День (Europe/Moscow)\";\"Вид чата\";\"Сообщений\"\n", csv, StringComparison.Ordinal);
        Assert.All(CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/statistics.csv")), r => Assert.True(r.Length >= 3, string.Join(" | ", r)));
        await (await school.Admin.Http.GetAsync($"{school.Api}/statistics.csv?tz=Europe%2FAtlantis")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");

        // The director reads them too; a pupil and a plain teacher of the school do not.
        var forDirector = await (await teacher.Http.GetAsync($"{school.Api}/statistics")).ReadAsync<SchoolStatsDto>();
        Assert.Equal(stats.Files.StorageUsedBytes, forDirector.Files.StorageUsedBytes);
        await (await p1.Http.GetAsync($"{school.Api}/statistics")).ExpectErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        var plainTeacher = await school.AddVerifiedTeacherAsync("Учитель музыки");
        await (await plainTeacher.Http.GetAsync($"{school.Api}/statistics.csv")).ExpectErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await plainTeacher.Http.GetAsync($"{school.Api}/statistics.csv?tz=Europe%2FAtlantis")).ExpectErrorAsync(HttpStatusCode.Forbidden, "forbidden");

        // The JSON takes the same time zone: an unknown one is refused, after the access check.
        await (await school.Admin.Http.GetAsync($"{school.Api}/statistics?tz=Europe%2FAtlantis")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await p1.Http.GetAsync($"{school.Api}/statistics?tz=Europe%2FAtlantis")).ExpectErrorAsync(HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task Statistics_CountMessagesAndActivePeopleInDaysOfTheTimeZone()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);
        var mother = await school.AddParentAsync("Мама", pupil.AccountId);
        var classChat = (await ChatsAsync(pupil, school.Id)).Single(c => c.Kind == "class");
        await using (var hub = await HubClient.ConnectAsync(app, pupil))
        {
            await hub.SendAsync(classChat.Id, "Доброе утро!");
            await hub.SendAsync(classChat.Id, "Кто сделал задачу 5?");
        }

        async Task<SchoolStatsDto> StatsAsync(string tz) =>
            await (await school.Admin.Http.GetAsync($"{school.Api}/statistics?tz={Uri.EscapeDataString(tz)}")).ReadAsync<SchoolStatsDto>();

        // Written at 22:30 UTC three days ago: 08:30 of the next day in Vladivostok (UTC+10), 17:30 or 18:30 of that
        // day in New York (daylight saving time or not).
        var utcDay = DateTime.UtcNow.Date.AddDays(-3);
        var at = new DateTimeOffset(utcDay.AddHours(22.5), TimeSpan.Zero);
        await app.ExecuteSqlAsync("UPDATE messages SET created_at = @at WHERE chat_id = @chatId AND sender_id = @sender", new { at, chatId = classChat.Id, sender = pupil.AccountId });
        var day = DateOnly.FromDateTime(utcDay);
        int ClassMessagesOn(SchoolStatsDto s, DateOnly d) => s.MessagesPerDay.Where(m => m.Day == d && m.ChatKind == "class").Sum(m => m.Messages);
        var utc = await StatsAsync("UTC");
        Assert.Equal((2, 0), (ClassMessagesOn(utc, day), ClassMessagesOn(utc, day.AddDays(1))));
        var vladivostok = await StatsAsync("Asia/Vladivostok");
        Assert.Equal((0, 2), (ClassMessagesOn(vladivostok, day), ClassMessagesOn(vladivostok, day.AddDays(1))));
        var newYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        Assert.Equal(2, ClassMessagesOn(await StatsAsync(newYork.Id), DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, newYork).DateTime)));

        // The JSON's day is a plain local date.
        var json = await school.Admin.Http.GetStringAsync($"{school.Api}/statistics?tz=Asia%2FVladivostok");
        Assert.Contains($"\"day\":\"{day.AddDays(1):yyyy-MM-dd}\",\"chatKind\":\"class\"", json, StringComparison.Ordinal);

        // The mother was last active a minute after the earlier of today's two midnights, UTC's and Vladivostok's
        // (10 or 14 hours apart): today in that zone, yesterday in the other; this week and month in both.
        var now = DateTimeOffset.UtcNow;
        var utcMidnight = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var vladivostokNow = TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById("Asia/Vladivostok"));
        var vladivostokMidnight = new DateTimeOffset(vladivostokNow.Date, vladivostokNow.Offset);
        var seen = (utcMidnight < vladivostokMidnight ? utcMidnight : vladivostokMidnight).AddMinutes(1).ToUniversalTime();
        await app.ExecuteSqlAsync(
            "DELETE FROM daily_activity WHERE account_id = @mother; INSERT INTO daily_activity (school_id, account_id, day, last_seen_at) VALUES (@school, @mother, @day, @seen)",
            new { school = school.Id, mother = mother.AccountId, day = seen.UtcDateTime.Date, seen });
        ActiveUsers Parents(SchoolStatsDto s) => s.ActiveUsers.Single(a => a.Role == "parent");
        var (inUtc, inVladivostok) = (Parents(await StatsAsync("UTC")), Parents(await StatsAsync("Asia/Vladivostok")));
        Assert.Equal(utcMidnight < vladivostokMidnight ? (1, 0) : (0, 1), (inUtc.Day, inVladivostok.Day));
        Assert.Equal((1, 1, 1, 1), (inUtc.Week, inUtc.Month, inVladivostok.Week, inVladivostok.Month));

        // The CSV counts the same days for the same zone.
        var csv = CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/statistics.csv?tz=Asia%2FVladivostok"));
        Assert.Contains(csv, r => r is ["Сообщения", var d, "классы", "2"] && d == day.AddDays(1).ToString("dd.MM.yyyy", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(csv, r => r is ["Активные участники", "родители", var today, "1", "1"] && today == inVladivostok.Day.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task StaffMemberLeaves_OutOfEveryChatAtOnce_OwnedChatsGoToClassTeacherOrAdmin()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        var physicist = await school.AddVerifiedTeacherAsync("Учитель физики");
        await using var physicistHub = await HubClient.ConnectAsync(app, physicist);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        await using var petyaHub = await HubClient.ConnectAsync(app, room.Petya);
        var physics = await physicistHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Физика 5А", room.Class.Id, null, [room.Petya.AccountId, room.Masha.AccountId]));
        var club = await physicistHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Клуб юных физиков", null, null, [room.Petya.AccountId]));
        var before = await ChatsAsync(physicist, school.Id);
        Assert.Contains(before, c => c.Kind == "staff_room");

        await (await room.Teacher.Http.PostAsJsonAsync($"{school.Api}/staff/{physicist.AccountId}/leave", new { reason = "Перевод" }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/staff/{room.Petya.AccountId}/leave", new { reason = "Ошибка" }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "not_a_teacher");
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/staff/{school.Admin.AccountId}/leave", new { reason = "Ухожу" }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "last_admin");
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/staff/{physicist.AccountId}/leave", new { reason = "Перевод в другую школу" })).EnsureOkAsync();

        // Out of every chat of the school (staff room and channels too), live at once; nothing of the school is visible.
        await HubClient.EventuallyAsync(() => before.All(c => physicistHub.Memberships.Contains((c.Id, false))), "every chat leaves her live connection");
        await (await physicist.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await physicistHub.HistoryAsync(physics.Id).ExpectHubErrorAsync("chat_not_found");
        await petyaHub.SendAsync(physics.Id, "Задачи решены");
        await Task.Delay(300);
        Assert.DoesNotContain(physicistHub.Received, m => m.ChatId == physics.Id);

        // The class chat's subject chat goes to 5А's class teacher, the club to an admin (live too); the pupils stay.
        var physicsMembers = await petyaHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", physics.Id);
        Assert.Equal("owner", physicsMembers.Single(m => m.AccountId == room.Teacher.AccountId).Role);
        Assert.DoesNotContain(physicsMembers, m => m.AccountId == physicist.AccountId);
        var clubMembers = await petyaHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", club.Id);
        Assert.Equal("owner", clubMembers.Single(m => m.AccountId == school.Admin.AccountId).Role);
        await HubClient.EventuallyAsync(() => adminHub.Memberships.Contains((club.Id, true)), "the admin's live connection joins the club");
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        Assert.Contains(audit!, e => e.Action == "staff.left" && e.SubjectId == physicist.AccountId);
    }

    [Fact]
    public async Task DeleteAccount_PhoneGoneFromDatabase_MessagesStayAsDeletedUser_ConnectionsClosed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("7А");
        var phone = SchoolBuilder.NewPhone();
        var pupil = await app.SignInAsync(phone, "Удаляемый Ученик");
        var invite = await school.InviteAsync(school.Admin, "student", cls.Id);
        await TestSchool.AcceptAsync(pupil, invite);
        var classmate = await school.AddStudentAsync("Одноклассник", cls.Id);
        var chat = (await ChatsAsync(pupil, school.Id)).Single(c => c.Kind == "class");
        await (await pupil.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/messages", new { clientId = Guid.NewGuid(), text = "Всем привет" })).EnsureOkAsync();
        var export = await pupil.Http.GetStringAsync("/api/me/export");
        Assert.Contains("Всем привет", export, StringComparison.Ordinal);
        Assert.Contains(phone, export, StringComparison.Ordinal);
        await using var hub = await HubClient.ConnectAsync(app, pupil);
        var closed = new TaskCompletionSource();
        hub.Connection.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };

        await (await pupil.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "удалить" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await pupil.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "УДАЛИТЬ" })).EnsureOkAsync();

        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await (await pupil.Http.GetAsync("/api/me")).ExpectErrorAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await using (var db = new NpgsqlConnection(app.ConnectionString))
        {
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM accounts WHERE phone = $1 OR display_name = 'Удаляемый Ученик'", db);
            cmd.Parameters.AddWithValue(phone);
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        }

        var history = await classmate.Http.GetFromJsonAsync<List<MessageDto>>($"/api/chats/{chat.Id}/messages");
        var kept = Assert.Single(history!);
        Assert.Equal(("Всем привет", "Удалённый пользователь"), (kept.Text, kept.SenderName));
    }

    /// <summary>
    /// A school whose policy is to remove a deleted person's messages: all of them go at once, each with its "deleted"
    /// change in the chat's sequence (a member catching up by seq sees every deletion), others' messages stay, and the
    /// chat goes on numbering after them.
    /// </summary>
    [Fact]
    public async Task DeleteAccount_SchoolRemovesMessages_AllDeletedWithChangesInSequence_OthersKept()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await (await school.Admin.Http.PutAsJsonAsync($"/api/schools/{school.Id}", new { name = "Школа, где сообщения удаляются", deletedUserMessages = "remove" })).EnsureOkAsync();
        var cls = await school.CreateClassAsync("8В");
        var pupil = await school.AddStudentAsync("Уходящий Ученик", cls.Id);
        var classmate = await school.AddStudentAsync("Остающийся Ученик", cls.Id);
        var chat = (await ChatsAsync(pupil, school.Id)).Single(c => c.Kind == "class");
        async Task<MessageDto> Send(TestUser who, string text) =>
            await (await who.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/messages", new { clientId = Guid.NewGuid(), text })).ReadAsync<MessageDto>();
        var first = await Send(pupil, "Первое");
        var kept = await Send(classmate, "Ответ одноклассника");
        var second = await Send(pupil, "Второе");
        var third = await Send(pupil, "Третье");
        var before = (await (await classmate.Http.GetAsync($"/api/chats/{chat.Id}/updates?after=0")).ReadAsync<ChatUpdatesDto>()).LastSeq;

        await (await pupil.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "УДАЛИТЬ" })).EnsureOkAsync();

        var updates = await (await classmate.Http.GetAsync($"/api/chats/{chat.Id}/updates?after={before}")).ReadAsync<ChatUpdatesDto>();
        var deletions = updates.Events.Where(e => e.Type == "deleted").ToList();
        Assert.Equal([first.Seq, second.Seq, third.Seq], deletions.Select(e => e.Message.Seq).Order());
        Assert.Equal(Enumerable.Range(1, 3).Select(i => before + i), deletions.Select(e => e.Seq).Order());
        Assert.All(deletions, e => Assert.True(e.Message.Deleted && e.Message.Text.Length == 0 && e.Message.Version == e.Seq));

        var history = await (await classmate.Http.GetAsync($"/api/chats/{chat.Id}/messages")).ReadAsync<List<MessageDto>>();
        Assert.Equal(("Ответ одноклассника", false), history.Where(m => m.Seq == kept.Seq).Select(m => (m.Text, m.Deleted)).Single());
        Assert.Equal(3, history.Count(m => m.Deleted));
        var next = await Send(classmate, "Жаль, что ушёл");
        Assert.Equal(updates.LastSeq + 1, next.Seq);
    }

    /// <summary>
    /// A teacher forwarded a pupil's message to the parents; the pupil deletes his account. The copy stops naming him
    /// («Переслано · Удалённый пользователь»), and in a school whose policy removes a deleted person's messages the copy
    /// (his words) goes with them, its deletion in the chat's sequence; the teacher's own messages stay.
    /// </summary>
    [Theory]
    [InlineData("keep")]
    [InlineData("remove")]
    public async Task DeleteAccount_ForwardedCopiesOfTheirWords_NameForgotten_RemovedWhereThePolicySays(string policy)
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await (await school.Admin.Http.PutAsJsonAsync($"/api/schools/{school.Id}", new { name = "Школа №12", deletedUserMessages = policy })).EnsureOkAsync();
        var cls = await school.CreateClassAsync("7Б");
        var teacher = await school.AddVerifiedTeacherAsync("Ольга Николаевна", cls.Id);
        var pupil = await school.AddStudentAsync("Петя Сидоров", cls.Id);
        var chats = await ChatsAsync(teacher, school.Id);
        var classChat = chats.Single(c => c.Kind == "class");
        var parentsChat = chats.Single(c => c.Kind == "parents");
        var said = await (await pupil.Http.PostAsJsonAsync($"/api/chats/{classChat.Id}/messages", new { clientId = Guid.NewGuid(), text = "Я разбил окно в кабинете физики" })).ReadAsync<MessageDto>();
        var staffRoom = chats.Single(c => c.Kind == "staff_room");
        MessageDto copy, copyOfCopy;
        await using (var hub = await HubClient.ConnectAsync(app, teacher))
        {
            copy = await hub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(classChat.Id, said.Seq, parentsChat.Id, Guid.NewGuid()));
            await hub.SendAsync(parentsChat.Id, "Обсудим на собрании");
            // Passed on again, to the staff room: still his words, from 7Б.
            copyOfCopy = await hub.Connection.InvokeAsync<MessageDto>("ForwardMessage", new ForwardMessageRequest(parentsChat.Id, copy.Seq, staffRoom.Id, Guid.NewGuid()));
        }

        Assert.Equal("Петя Сидоров", copy.ForwardedFrom!.Value.GetProperty("senderName").GetString());
        Assert.Equal("Петя Сидоров", copyOfCopy.ForwardedFrom!.Value.GetProperty("senderName").GetString());
        Assert.Equal("7Б", copyOfCopy.ForwardedFrom!.Value.GetProperty("chatTitle").GetString());

        await (await pupil.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "УДАЛИТЬ" })).EnsureOkAsync();

        var history = await (await teacher.Http.GetAsync($"/api/chats/{parentsChat.Id}/messages")).ReadAsync<List<MessageDto>>();
        var after = history.Single(m => m.Seq == copy.Seq);
        Assert.Equal("Удалённый пользователь", after.ForwardedFrom!.Value.GetProperty("senderName").GetString());
        Assert.Equal(policy == "remove", after.Deleted);
        Assert.Equal(policy == "remove" ? "" : "Я разбил окно в кабинете физики", after.Text);
        Assert.Contains(history, m => m.Text == "Обсудим на собрании" && !m.Deleted);
        var updates = await (await teacher.Http.GetAsync($"/api/chats/{parentsChat.Id}/updates?after={copy.Seq}")).ReadAsync<ChatUpdatesDto>();
        Assert.Equal(policy == "remove", updates.Events.Any(e => e.Type == "deleted" && e.Message.Seq == copy.Seq));
        var passedOn = (await (await teacher.Http.GetAsync($"/api/chats/{staffRoom.Id}/messages")).ReadAsync<List<MessageDto>>()).Single(m => m.Seq == copyOfCopy.Seq);
        Assert.Equal(("Удалённый пользователь", policy == "remove"), (passedOn.ForwardedFrom!.Value.GetProperty("senderName").GetString(), passedOn.Deleted));
    }

    /// <summary>
    /// A mother (in no school yet) and a pupil wait for approval and delete their accounts: both requests are declined at
    /// once and the class teacher's badge is told, the child's name the mother typed is erased, and a request an older
    /// deletion left waiting cannot take the deleted account into the class (which then goes to the archive, empty).
    /// </summary>
    [Fact]
    public async Task DeleteAccount_JoinRequestsWaiting_DeclinedChildNameErasedDeciderTold_ApprovalRefused()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", approveStudents = true })).EnsureOkAsync();
        var cls = await school.CreateClassAsync("3В");
        var teacher = await school.AddVerifiedTeacherAsync("Классный руководитель 3В", classTeacherOf: cls.Id);
        var mother = await app.SignInAsync(SchoolBuilder.NewPhone(), "Удаляемая Мама");
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Удаляемый Ученик");
        var motherWaits = await TestSchool.AcceptAsync(mother, await school.InviteAsync(school.Admin, "parent", cls.Id), childName: "Маша Иванова");
        var pupilWaits = await TestSchool.AcceptAsync(pupil, await school.InviteAsync(school.Admin, "student", cls.Id));
        Assert.Equal(("pending", "pending"), (motherWaits.Status, pupilWaits.Status));
        var requests = $"{school.Api}/join-requests";
        Assert.Equal(2, (await (await teacher.Http.GetAsync(requests + "?status=pending")).ReadAsync<List<JoinRequestDto>>()).Count);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        var told = 0;
        teacherHub.Connection.On<Guid>("JoinRequestsChanged", id =>
        {
            if (id == school.Id)
            {
                Interlocked.Increment(ref told);
            }
        });

        await (await mother.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "УДАЛИТЬ" })).EnsureOkAsync();
        await (await pupil.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "УДАЛИТЬ" })).EnsureOkAsync();

        Assert.Empty(await (await teacher.Http.GetAsync(requests + "?status=pending")).ReadAsync<List<JoinRequestDto>>());
        var declined = await (await teacher.Http.GetAsync(requests + "?status=rejected")).ReadAsync<List<JoinRequestDto>>();
        Assert.Equal(
            [(motherWaits.JoinRequestId, "Удалённый пользователь", (string?)null, "Аккаунт удалён."), (pupilWaits.JoinRequestId, "Удалённый пользователь", null, "Аккаунт удалён.")],
            declined.Select(r => ((Guid?)r.Id, r.DisplayName, r.ChildName, r.Reason)).ToList());
        await HubClient.EventuallyAsync(() => Volatile.Read(ref told) >= 2, "the class teacher's badge told of each");
        await using (var db = new NpgsqlConnection(app.ConnectionString))
        {
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM join_requests WHERE id = $1 AND child_name IS NOT NULL", db);
            cmd.Parameters.AddWithValue(motherWaits.JoinRequestId!.Value);
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        }

        var approvePupil = $"{requests}/{pupilWaits.JoinRequestId}/approve";
        await (await teacher.Http.PostAsJsonAsync(approvePupil, new { })).ExpectErrorAsync(HttpStatusCode.Conflict, "join_request_decided");

        // A request left waiting by a deletion before this was mended: refused, and the class still goes to the archive.
        await using (var db = new NpgsqlConnection(app.ConnectionString))
        {
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("UPDATE join_requests SET status = 'pending', reason = NULL, decided_at = NULL WHERE id = $1", db);
            cmd.Parameters.AddWithValue(pupilWaits.JoinRequestId!.Value);
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
        }

        await (await teacher.Http.PostAsJsonAsync(approvePupil, new { })).ExpectErrorAsync(HttpStatusCode.Conflict, "join_request_account_deleted");
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{cls.Id}", new { archived = true })).EnsureOkAsync();
    }

    /// <summary>
    /// The class teacher approves a pupil's request at the very moment the pupil deletes his account: the approval holds
    /// the request while the deletion, which read his schools before (none), waits to decline it. Once the approval has
    /// enrolled him, the deletion sees a school it did not read and starts again with it — the deleted account is not
    /// left in the class (before, it stayed enrolled, unlisted, keeping the class from the archive).
    /// </summary>
    [Fact]
    public async Task DeleteAccount_WhileTheClassTeacherApprovesHisRequest_NotLeftInTheClass()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №2", approveStudents = true })).EnsureOkAsync();
        var cls = await school.CreateClassAsync("4Г");
        var teacher = await school.AddVerifiedTeacherAsync("Классный руководитель 4Г", classTeacherOf: cls.Id);
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Передумавший Ученик");
        var waits = await TestSchool.AcceptAsync(pupil, await school.InviteAsync(school.Admin, "student", cls.Id));

        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM join_requests WHERE id = $1 FOR UPDATE", holder, hold))
        {
            lockRow.Parameters.AddWithValue(waits.JoinRequestId!.Value);
            await lockRow.ExecuteScalarAsync();
        }

        var approving = teacher.Http.PostAsJsonAsync($"{school.Api}/join-requests/{waits.JoinRequestId}/approve", new { });
        await LockWaiters.WaitAsync(app.ConnectionString, 1);
        var deleting = pupil.Http.PostAsJsonAsync("/api/me/delete", new { confirmation = "УДАЛИТЬ" });
        await LockWaiters.WaitAsync(app.ConnectionString, 2);
        await hold.RollbackAsync();

        await (await approving).EnsureOkAsync();
        await (await deleting).EnsureOkAsync();
        await using var db = new NpgsqlConnection(app.ConnectionString);
        await db.OpenAsync();
        await using var left = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM school_members WHERE account_id = $1) + (SELECT count(*) FROM students WHERE account_id = $1)", db);
        left.Parameters.AddWithValue(pupil.AccountId);
        Assert.Equal(0L, (long)(await left.ExecuteScalarAsync())!);
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{cls.Id}", new { archived = true })).EnsureOkAsync();
    }

    /// <summary>Every DTO type another member can receive is walked: none has a phone or e-mail field.</summary>
    [Fact]
    public void DtoTypes_ThatReachOtherMembers_HaveNoPhoneOrEmail()
    {
        var own = new HashSet<string> { "MeDto", "TokenPair", "RequestCodeBody", "VerifyCodeBody", "RegisterSchoolBody" }; // the caller's own data or input
        var dtos = typeof(Program).Assembly.GetTypes()
            .Where(t => t.Namespace?.StartsWith("Chat.Hub.Features", StringComparison.Ordinal) == true && (t.Name.EndsWith("Dto", StringComparison.Ordinal) || t.Name.EndsWith("Result", StringComparison.Ordinal)))
            .Where(t => !own.Contains(t.Name))
            .ToList();
        Assert.True(dtos.Count >= 20, $"only {dtos.Count} DTO types found");
        var offending = dtos
            .SelectMany(t => Fields(t, 0).Select(f => $"{t.Name}.{f}"))
            .Where(f => f.Contains("phone", StringComparison.OrdinalIgnoreCase) || f.Contains("email", StringComparison.OrdinalIgnoreCase) || f.Contains("mail", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.Empty(offending);
    }

    private static IEnumerable<string> Fields(Type type, int depth)
    {
        if (depth > 4 || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
        {
            yield break;
        }

        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            yield return p.Name;
            var inner = p.PropertyType.IsGenericType ? p.PropertyType.GetGenericArguments()[0] : p.PropertyType.IsArray ? p.PropertyType.GetElementType()! : p.PropertyType;
            foreach (var f in Fields(inner, depth + 1))
            {
                yield return p.Name + "." + f;
            }
        }
    }
}
