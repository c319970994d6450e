using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Foundation;

/// <summary>The school's structure and its rules: one class per pupil, at least one admin, verified directors, suspension.</summary>
public sealed class StructureTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task Accept_StudentInviteOfSecondClass_ReturnsStudentAlreadyInClass()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var pupil = await school.AddStudentAsync("Петя Сидоров", class5A.Id);
        var invite5B = await school.InviteAsync(school.Admin, "student", class5B.Id);

        await (await pupil.Http.PostAsJsonAsync($"/api/invites/{invite5B.Token}/accept", new { }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "student_already_in_class");

        var members5B = await (await school.Admin.Http.GetAsync($"{school.Api}/members?classId={class5B.Id}")).ReadAsync<List<MemberDto>>();
        Assert.DoesNotContain(members5B, m => m.AccountId == pupil.AccountId);
        Assert.Equal(0, Assert.Single(await ListInvitesAsync(school), i => i.Id == invite5B.Id).Uses);

        // Not only the service: the database itself refuses a second class for the pupil.
        var insert = await Assert.ThrowsAsync<PostgresException>(() => app.ExecuteSqlAsync(
            "INSERT INTO students (school_id, account_id, class_id) VALUES (@schoolId, @accountId, @classId)",
            new { schoolId = school.Id, accountId = pupil.AccountId, classId = class5B.Id }));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, insert.SqlState);
        Assert.Equal("students_pkey", insert.ConstraintName);
    }

    [Fact]
    public async Task AdminEditsSchoolInfoAndJournalLink_MembersSeeIt_ClassRenamedAndArchived_ChatsFollow()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;

        await (await room.Teacher.Http.PutAsJsonAsync(school.Api, new { name = "Другая" })).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        var bad = await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Гимназия №5", journalUrl = "javascript:alert(1)" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("journalUrl", bad.Errors!.Keys);
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Гимназия №5", address = "ул. Садовая, 7", journalUrl = "https://dnevnik.example.ru/school/5" })).EnsureOkAsync();

        // Every member sees the new name and the electronic journal's link.
        var seen = await (await room.Petya.Http.GetAsync(school.Api)).ReadAsync<SchoolDto>();
        Assert.Equal(("Гимназия №5", "ул. Садовая, 7", "https://dnevnik.example.ru/school/5"), (seen.Name, seen.Address, seen.JournalUrl));

        // Renaming the class renames its chats; archiving it takes it off the list of active classes.
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{room.Class.Id}", new { name = "5А (углублённый)" })).EnsureOkAsync();
        var chats = await room.Teacher.Http.GetFromJsonAsync<List<Chat.Hub.Features.Chats.ChatSummaryDto>>($"/api/chats?schoolId={school.Id}");
        Assert.Contains(chats!, c => c.Kind == "class" && c.Title == "5А (углублённый)");
        Assert.Contains(chats!, c => c.Kind == "parents" && c.Title == "Родители 5А (углублённый)");
        // A class with pupils is not archived: they would be in no class list, in chats that take no messages.
        var archive = () => school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{room.Class.Id}", new { archived = true });
        await (await archive()).ExpectErrorAsync(HttpStatusCode.Conflict, "class_not_empty");
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages", new { clientId = Guid.NewGuid(), text = "Последний урок" })).EnsureOkAsync();
        foreach (var pupil in room.Pupils)
        {
            await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/students/{pupil.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();
        }

        // Empty, it is archived with its chats: their history stays readable, new messages are refused.
        await (await archive()).EnsureOkAsync();
        Assert.DoesNotContain((await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes"))!, c => c.Id == room.Class.Id);
        var all = await school.Admin.Http.GetFromJsonAsync<List<ClassDto>>($"{school.Api}/classes?includeArchived=true");
        Assert.True(all!.Single(c => c.Id == room.Class.Id).Archived);
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages", new { clientId = Guid.NewGuid(), text = "После архива" }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "chat_archived");
        var history = await room.Teacher.Http.GetFromJsonAsync<List<Chat.Hub.Features.Chats.MessageDto>>($"/api/chats/{room.ChatId}/messages", Chat.Hub.Infrastructure.ChatJson.Options);
        Assert.Contains(history!, m => m.Text == "Последний урок");
        var listed = (await room.Teacher.Http.GetFromJsonAsync<List<Chat.Hub.Features.Chats.ChatSummaryDto>>($"/api/chats?schoolId={school.Id}", Chat.Hub.Infrastructure.ChatJson.Options))!
            .Single(c => c.Id == room.ChatId);
        Assert.Equal((true, false), (listed.Archived, listed.CanPost)); // clients show it as an archive, with no input box

        // Back from the archive, the class and its chats work again.
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{room.Class.Id}", new { archived = false })).EnsureOkAsync();
        await (await room.Teacher.Http.PostAsJsonAsync($"/api/chats/{room.ChatId}/messages", new { clientId = Guid.NewGuid(), text = "Снова здесь" })).EnsureOkAsync();
        listed = (await room.Teacher.Http.GetFromJsonAsync<List<Chat.Hub.Features.Chats.ChatSummaryDto>>($"/api/chats?schoolId={school.Id}", Chat.Hub.Infrastructure.ChatJson.Options))!
            .Single(c => c.Id == room.ChatId);
        Assert.Equal((false, true), (listed.Archived, listed.CanPost));
    }

    [Fact]
    public async Task RemoveAdmin_LastAdmin_ReturnsLastAdmin()
    {
        var school = await new SchoolBuilder(app).CreateAsync();

        await (await school.Admin.Http.DeleteAsync($"{school.Api}/admins/{school.Admin.AccountId}"))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "last_admin");

        var me = await (await school.Admin.Http.GetAsync(school.Api)).ReadAsync<SchoolDto>();
        Assert.Contains("admin", me.MyRoles!);
    }

    /// <summary>
    /// The deputy who registered the school is its admin and nothing else; she made a group chat with pupils. A second
    /// admin takes her right: being no teacher, she is staff no more and leaves the school as «Покинул школу» has it —
    /// her group goes to the class's class teacher, she is out of every chat (the school channel too) at once, and the
    /// log says both. Before, she stayed a member of no role whom no admin could remove («Покинул школу» refused her,
    /// she was in no staff list), owning her chats with pupils and reading the school channel.
    /// </summary>
    [Fact]
    public async Task RemoveAdmin_AfterAppointingSecondAdmin_TheFirstWhoIsNoTeacherLeavesTheSchool_HerChatsHandedOver()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        var deputy = await school.AddVerifiedTeacherAsync("Завуч");
        await using var firstHub = await HubClient.ConnectAsync(app, school.Admin);
        var trip = await firstHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Экскурсия 5А", room.Class.Id, null, [room.Petya.AccountId, room.Masha.AccountId]));
        var before = await firstHub.ChatsAsync(school.Id);
        Assert.Contains(before, c => c.Title == "Общешкольный канал");

        Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/admins/{deputy.AccountId}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await deputy.Http.DeleteAsync($"{school.Api}/admins/{school.Admin.AccountId}")).StatusCode);

        // Out of the school and every chat of it, live at once; the deputy runs the school and is its last admin.
        await HubClient.EventuallyAsync(() => before.All(c => firstHub.Memberships.Contains((c.Id, false))), "every chat leaves her live connection");
        await (await school.Admin.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await firstHub.HistoryAsync(trip.Id).ExpectHubErrorAsync("chat_not_found");
        var members = await (await deputy.Http.GetAsync($"{school.Api}/members")).ReadAsync<List<MemberDto>>();
        Assert.DoesNotContain(members, m => m.AccountId == school.Admin.AccountId);

        // Her group with the pupils is 5А's class teacher's now; the pupils stay.
        await using var teacherHub = await HubClient.ConnectAsync(app, room.Teacher);
        var tripMembers = await teacherHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", trip.Id);
        Assert.Equal("owner", tripMembers.Single(m => m.AccountId == room.Teacher.AccountId).Role);
        Assert.DoesNotContain(tripMembers, m => m.AccountId == school.Admin.AccountId);
        Assert.Contains(tripMembers, m => m.AccountId == room.Petya.AccountId);

        var audit = await (await deputy.Http.GetAsync($"{school.Api}/audit")).ReadAsync<List<AuditEventDto>>();
        Assert.Contains(audit, e => e.Action == "admin.appointed" && e.SubjectId == deputy.AccountId);
        Assert.Contains(audit, e => e.Action == "admin.removed" && e.SubjectId == school.Admin.AccountId);
        Assert.Contains(audit, e => e.Action == "staff.left" && e.SubjectId == school.Admin.AccountId);
        await (await deputy.Http.DeleteAsync($"{school.Api}/admins/{deputy.AccountId}")).ExpectErrorAsync(HttpStatusCode.Conflict, "last_admin");
    }

    /// <summary>
    /// An admin who is a pupil's mother but no teacher, losing the right, stays as the mother only — as a member of staff
    /// who leaves but is a parent does: the group of her son's class she made stays hers to read as a plain member, her
    /// group of no class goes to the admin, and she leaves the staff's chats. A teacher who loses the right keeps his chats.
    /// </summary>
    [Fact]
    public async Task RemoveAdmin_AMotherWhoIsNoTeacher_StaysAsTheMotherOnly_ATeacherKeepsHisChats()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(withNeighbours: true);
        var school = room.School;
        var deputy = await school.AddVerifiedTeacherAsync("Завуч");
        foreach (var who in new[] { room.Mother, deputy })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/admins/{who.AccountId}", null)).StatusCode);
        }

        await using var motherHub = await HubClient.ConnectAsync(app, room.Mother);
        await using var deputyHub = await HubClient.ConnectAsync(app, deputy);
        var trip = await motherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Поездка 5А", room.Class.Id, null, [room.Petya.AccountId]));
        var council = await motherHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "group", "Совет школы", null, null, [room.Masha.AccountId]));
        var deputysChat = await deputyHub.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(school.Id, "subject", "Физика 5А", room.Class.Id, null, [room.Petya.AccountId]));

        Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.DeleteAsync($"{school.Api}/admins/{room.Mother.AccountId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.DeleteAsync($"{school.Api}/admins/{deputy.AccountId}")).StatusCode);

        var mine = await (await room.Mother.Http.GetAsync(school.Api)).ReadAsync<SchoolDto>();
        Assert.Equal(["parent"], mine.MyRoles!);
        var chats = await motherHub.ChatsAsync(school.Id);
        Assert.Contains(chats, c => c.Kind == "parents");
        Assert.Equal("member", chats.Single(c => c.Id == trip.Id).Role);
        Assert.DoesNotContain(chats, c => c.Id == council.Id || c.Kind == "staff_room");
        await HubClient.EventuallyAsync(() => motherHub.Memberships.Contains((council.Id, false)), "her connection leaves the council's chat");
        var physicsMembers = await deputyHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", deputysChat.Id);
        Assert.Equal("owner", physicsMembers.Single(m => m.AccountId == deputy.AccountId).Role); // the teacher keeps his subject chat
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        Assert.Equal("owner", (await adminHub.Connection.InvokeAsync<List<ChatMemberDto>>("GetChatMembers", council.Id))
            .Single(m => m.AccountId == school.Admin.AccountId).Role);
        Assert.Contains(await deputyHub.ChatsAsync(school.Id), c => c.Kind == "staff_room");
    }

    /// <summary>
    /// Two admins at once: one removes the other while the other appoints an accomplice. The removal commits first; the
    /// appointment, which passed its admin check before it waited for the school's lock, is checked again under it and
    /// refused. Made deterministic by holding the school's lock in the test while the demotion is written.
    /// </summary>
    [Fact]
    public async Task AdminRemovedWhileHisChangeWaitsForTheSchoolsLock_TheChangeIsRefused()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var deputy = await school.AddVerifiedTeacherAsync("Завуч");
        var accomplice = await school.AddVerifiedTeacherAsync("Сообщник");
        Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/admins/{deputy.AccountId}", null)).StatusCode);

        await using var db = new NpgsqlConnection(app.ConnectionString);
        await db.OpenAsync();
        await using var tx = await db.BeginTransactionAsync();
        await using (var lockSchool = new NpgsqlCommand("SELECT 1 FROM schools WHERE id = @id FOR UPDATE", db, tx))
        {
            lockSchool.Parameters.AddWithValue("id", school.Id);
            await lockSchool.ExecuteNonQueryAsync();
        }

        var appointing = school.Admin.Http.PutAsync($"{school.Api}/admins/{accomplice.AccountId}", null);
        await using (var waiting = new NpgsqlCommand("SELECT count(*)::int FROM pg_stat_activity WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))", db, tx))
        {
            for (var deadline = DateTime.UtcNow.AddSeconds(10); (int)(await waiting.ExecuteScalarAsync())! == 0; await Task.Delay(20))
            {
                Assert.True(DateTime.UtcNow < deadline, "the appointment never waited for the school's lock" + (appointing.IsCompleted ? ": it answered " + await (await appointing).DescribeAsync() : ""));
            }
        }

        await using (var demote = new NpgsqlCommand("UPDATE school_members SET is_admin = false WHERE school_id = @school AND account_id = @admin", db, tx))
        {
            demote.Parameters.AddWithValue("school", school.Id);
            demote.Parameters.AddWithValue("admin", school.Admin.AccountId);
            Assert.Equal(1, await demote.ExecuteNonQueryAsync());
        }

        await tx.CommitAsync();
        await (await appointing).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        var accomplicesRoles = await (await accomplice.Http.GetAsync(school.Api)).ReadAsync<SchoolDto>();
        Assert.DoesNotContain("admin", accomplicesRoles.MyRoles!);
    }

    [Fact]
    public async Task AppointAdmin_NotAMember_ReturnsMemberNotFound()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var stranger = await app.SignInAsync(SchoolBuilder.NewPhone(), "Посторонний");

        await (await school.Admin.Http.PutAsync($"{school.Api}/admins/{stranger.AccountId}", null))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "member_not_found");
        await (await stranger.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
    }

    [Fact]
    public async Task SetDirector_UnverifiedTeacher_ReturnsTeacherNotVerified()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Будущий Директор");
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);
        await (await school.Admin.Http.DeleteAsync($"{school.Api}/teachers/{teacher.AccountId}/verification")).EnsureOkAsync();

        await (await school.Admin.Http.PutAsync($"{school.Api}/directors/{teacher.AccountId}", null))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "teacher_not_verified");
        await (await school.Admin.Http.PutAsync($"{school.Api}/directors/{pupil.AccountId}", null))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "teacher_not_verified");

        // Verified, the teacher can be director; taking the verification back takes the director mark too.
        await (await school.Admin.Http.PutAsync($"{school.Api}/teachers/{teacher.AccountId}/verification", null)).EnsureOkAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await school.Admin.Http.PutAsync($"{school.Api}/directors/{teacher.AccountId}", null)).StatusCode);
        Assert.Contains("director", (await MemberAsync(school, teacher.AccountId)).Roles);
        await (await school.Admin.Http.DeleteAsync($"{school.Api}/teachers/{teacher.AccountId}/verification")).EnsureOkAsync();
        var after = await MemberAsync(school, teacher.AccountId);
        Assert.DoesNotContain("director", after.Roles);
        Assert.False(after.VerifiedTeacher);
    }

    [Fact]
    public async Task VerifyTeacher_NotATeacher_ReturnsNotATeacher()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);

        await (await school.Admin.Http.PutAsync($"{school.Api}/teachers/{pupil.AccountId}/verification", null))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "not_a_teacher");
    }

    [Fact]
    public async Task CreateClass_SameNameInSameSchoolYear_ReturnsClassNameTaken()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        await school.CreateClassAsync("5Б");

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "5А" }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "class_name_taken");
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { name = "5Б" }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "class_name_taken");

        // The next school year may have its own «5А».
        var nextYear = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "5А", schoolYear = class5A.SchoolYear + 1 }))
            .ReadAsync<ClassDto>();
        Assert.Equal(class5A.SchoolYear + 1, nextYear.SchoolYear);

        // Another school may have one too.
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        Assert.Equal("5А", (await other.CreateClassAsync("5А")).Name);
    }

    [Fact]
    public async Task UpdateClass_GradeOutOfRange_ReturnsValidationFailed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");

        foreach (var grade in new[] { 0, 13 })
        {
            var problem = await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { grade }))
                .ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(problem.Errors?.ContainsKey("grade"));
        }

        var moved = await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { name = "6А", grade = 6 })).ReadAsync<ClassDto>();
        Assert.Equal(("6А", 6), (moved.Name, moved.Grade!.Value));
    }

    [Fact]
    public async Task UpdateClass_StaffRoom_ReturnsStaffRoomFixed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var staffRoom = (await (await school.Admin.Http.GetAsync($"{school.Api}/classes")).ReadAsync<List<ClassDto>>()).Single(c => c.Kind == "staff_room");

        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{staffRoom.Id}", new { name = "Кабинет" }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "staff_room_fixed");
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{staffRoom.Id}", new { archived = true }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "staff_room_fixed");

        var classes = await (await school.Admin.Http.GetAsync($"{school.Api}/classes")).ReadAsync<List<ClassDto>>();
        Assert.Equal(("Учительская", false), classes.Where(c => c.Kind == "staff_room").Select(c => (c.Name, c.Archived)).Single());
    }

    [Fact]
    public async Task SuspendSchool_ByOperator_SchoolIsVisibleButEveryOtherActionReturnsSchoolSuspended()
    {
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        var school = await new SchoolBuilder(app).CreateAsync();
        var values = await school.RouteValuesAsync();
        var newcomer = await app.SignInAsync(SchoolBuilder.NewPhone(), "Новенький");

        var suspended = await (await op.Http.PostAsync($"/api/platform/schools/{school.Id}/suspend", null)).ReadAsync<SchoolDto>();
        Assert.Equal("suspended", suspended.Status);

        // Members still see the school, and that it is suspended.
        var seen = await (await school.Admin.Http.GetAsync(school.Api)).ReadAsync<SchoolDto>();
        Assert.Equal("suspended", seen.Status);
        Assert.Equal("suspended", Assert.Single(await (await school.Admin.Http.GetAsync("/api/me/schools")).ReadAsync<List<MySchoolDto>>()).Status);

        // Everything else under the school, walked over every mapped endpoint, is refused, even for its admin.
        var schoolEndpoints = EndpointCatalog.All(app.Services)
            .Where(e => e.Pattern.StartsWith("/api/schools/{schoolId", StringComparison.Ordinal) && e.Key != "GET /api/schools/{schoolId:guid}")
            .ToList();
        Assert.True(schoolEndpoints.Count >= 20, $"only {schoolEndpoints.Count} school endpoints found");
        var wrong = new List<string>();
        foreach (var endpoint in schoolEndpoints)
        {
            using var request = endpoint.Request(values);
            using var response = await school.Admin.Http.SendAsync(request);
            var problem = await response.ReadProblemAsync();
            if (response.StatusCode != HttpStatusCode.Forbidden || problem?.Code != "school_suspended")
            {
                wrong.Add($"{endpoint.Key}: {await response.DescribeAsync()}");
            }
        }

        Assert.True(wrong.Count == 0, "expected 403 school_suspended from:\n" + string.Join("\n", wrong));

        // Nobody joins a suspended school.
        await (await newcomer.Http.PostAsJsonAsync($"/api/invites/{values["token"]}/accept", new { }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "school_suspended");

        // Resumed, it works again, and nothing was changed while it was suspended.
        var resumed = await (await op.Http.PostAsync($"/api/platform/schools/{school.Id}/resume", null)).ReadAsync<SchoolDto>();
        Assert.Equal("active", resumed.Status);
        var invites = await ListInvitesAsync(school);
        Assert.Equal("active", invites.Single(i => i.Id.ToString() == values["inviteId"]).State);
        Assert.Single(await (await school.Admin.Http.GetAsync($"{school.Api}/join-requests?status=pending")).ReadAsync<List<JoinRequestDto>>());
        Assert.Equal("joined", (await (await newcomer.Http.PostAsJsonAsync($"/api/invites/{values["token"]}/accept", new { })).ReadAsync<AcceptInviteResult>()).Status);
        var audit = await (await school.Admin.Http.GetAsync($"{school.Api}/audit")).ReadAsync<List<AuditEventDto>>();
        Assert.Contains(audit, e => e.Action == "school.suspended");
        Assert.Contains(audit, e => e.Action == "school.resumed");
    }

    [Fact]
    public async Task PlatformEndpoints_NonOperator_ReturnOperatorOnly()
    {
        var school = await new SchoolBuilder(app).CreateAsync();

        await (await school.Admin.Http.GetAsync("/api/platform/schools")).ExpectErrorAsync(HttpStatusCode.Forbidden, "operator_only");
        await (await school.Admin.Http.PostAsJsonAsync("/api/platform/schools", new { name = "Самозванная школа", adminPhone = SchoolBuilder.NewPhone() }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "operator_only");
        await (await school.Admin.Http.PostAsync($"/api/platform/schools/{school.Id}/suspend", null)).ExpectErrorAsync(HttpStatusCode.Forbidden, "operator_only");
        await (await school.Admin.Http.PostAsync($"/api/platform/schools/{school.Id}/resume", null)).ExpectErrorAsync(HttpStatusCode.Forbidden, "operator_only");

        Assert.Equal("active", (await (await school.Admin.Http.GetAsync(school.Api)).ReadAsync<SchoolDto>()).Status);
    }

    [Fact]
    public async Task RegisterSchool_ByOperator_ValidatesAndListsIt()
    {
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());

        var problem = await (await op.Http.PostAsJsonAsync("/api/platform/schools", new { name = "Без админа" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("adminPhone"));
        problem = await (await op.Http.PostAsJsonAsync("/api/platform/schools", new { name = "", adminPhone = SchoolBuilder.NewPhone() })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("name"));

        var registered = await (await op.Http.PostAsJsonAsync("/api/platform/schools", new { name = "Школа по e-mail", adminEmail = "Director@Example.Org" })).ReadAsync<SchoolDto>();
        Assert.Contains(await (await op.Http.GetAsync("/api/platform/schools")).ReadAsync<List<SchoolDto>>(), s => s.Id == registered.Id);

        // The first admin named by e-mail becomes admin at their first sign-in.
        var admin = await app.SignInWithEmailAsync("director@example.org", "Директор");
        Assert.True(Assert.Single(await (await admin.Http.GetAsync("/api/me/schools")).ReadAsync<List<MySchoolDto>>()).IsAdmin);
    }

    [Fact]
    public async Task RejectJoinRequest_WithoutReason_FailsAndTheReasonIsShownToThePerson()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var applicant = await app.SignInAsync(SchoolBuilder.NewPhone(), "Кандидат В Учителя");
        var pending = await TestSchool.AcceptAsync(applicant, await school.InviteAsync(school.Admin, "teacher"));
        Assert.Equal("pending", pending.Status);
        var reject = $"{school.Api}/join-requests/{pending.JoinRequestId}/reject";

        var problem = await (await school.Admin.Http.PostAsJsonAsync(reject, new { })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("reason"));
        await (await school.Admin.Http.PostAsJsonAsync(reject, new { reason = "   " })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal("pending", Assert.Single(await MyRequestsAsync(applicant)).Status);

        const string reason = "Не работает в нашей школе";
        var decided = await (await school.Admin.Http.PostAsJsonAsync(reject, new { reason })).ReadAsync<JoinRequestDto>();
        Assert.Equal(("rejected", reason), (decided.Status, decided.Reason));

        var mine = Assert.Single(await MyRequestsAsync(applicant));
        Assert.Equal(("rejected", reason, school.Id), (mine.Status, mine.Reason, mine.SchoolId));
        Assert.NotNull(mine.DecidedAt);
        await (await applicant.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // A decided request stays decided.
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{pending.JoinRequestId}/approve", new { }))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "join_request_decided");
    }

    [Fact]
    public async Task SchoolAdminActions_ByTeacherOrPupil_ReturnAdminOnly()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", classTeacherOf: class5A.Id);
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);

        foreach (var who in new[] { teacher, pupil })
        {
            await (await who.Http.PostAsJsonAsync($"{school.Api}/classes", new { name = "6А" })).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
            await (await who.Http.PutAsJsonAsync(school.Api, new { name = "Переименованная" })).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
            await (await who.Http.PutAsync($"{school.Api}/admins/{who.AccountId}", null)).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
            await (await who.Http.GetAsync($"{school.Api}/audit")).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        }

        await (await pupil.Http.GetAsync($"{school.Api}/join-requests")).ExpectErrorAsync(HttpStatusCode.Forbidden, "forbidden");
    }

    private static async Task<List<InviteDto>> ListInvitesAsync(TestSchool school) =>
        await (await school.Admin.Http.GetAsync($"{school.Api}/invites")).ReadAsync<List<InviteDto>>();

    private static async Task<MemberDto> MemberAsync(TestSchool school, Guid accountId) =>
        (await (await school.Admin.Http.GetAsync($"{school.Api}/members")).ReadAsync<List<MemberDto>>()).Single(m => m.AccountId == accountId);

    private static async Task<List<JoinRequestDto>> MyRequestsAsync(TestUser who) =>
        await (await who.Http.GetAsync("/api/me/join-requests")).ReadAsync<List<JoinRequestDto>>();
}
