using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>Invite links: expiry, use limit, revocation, who may invite, and that a link never reaches into another school (test plan item 22).</summary>
public sealed class InviteTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task Accept_ExpiredInvite_ReturnsInviteExpired()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id, expiresInHours: 1);
        Assert.NotNull(invite.ExpiresAt);
        await app.ExecuteSqlAsync("UPDATE invites SET expires_at = now() - interval '1 minute' WHERE id = @id", new { id = invite.Id });
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Опоздавший Ученик");

        Assert.Equal("expired", (await PreviewAsync(pupil, invite)).State);
        await (await AcceptAsync(pupil, invite)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_expired");

        await (await pupil.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        Assert.Equal(0, Assert.Single(await ListInvitesAsync(school), i => i.Id == invite.Id).Uses);
    }

    [Fact]
    public async Task Accept_RevokedInvite_ReturnsInviteRevoked()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);

        var revoked = await (await school.Admin.Http.DeleteAsync($"{school.Api}/invites/{invite.Id}")).ReadAsync<InviteDto>();
        Assert.Equal("revoked", revoked.State);

        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ученик");
        Assert.Equal("revoked", (await PreviewAsync(pupil, invite)).State);
        await (await AcceptAsync(pupil, invite)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
        await (await pupil.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // A one-child parent link names the child while it works; revoked (it leaked), it names neither child nor class.
        var petya = await school.AddStudentAsync("Петя Иванов", class5A.Id);
        var forPetya = await school.InviteAsync(school.Admin, "parent", childId: petya.AccountId);
        var stranger = await app.SignInAsync(SchoolBuilder.NewPhone(), "Посторонний");
        var live = await PreviewAsync(stranger, forPetya);
        Assert.Equal(("active", "Петя Иванов", "5А"), (live.State, live.ChildName, live.ClassName));
        (await school.Admin.Http.DeleteAsync($"{school.Api}/invites/{forPetya.Id}")).EnsureSuccessStatusCode();
        var dead = await PreviewAsync(stranger, forPetya);
        Assert.Equal(("revoked", null, null), (dead.State, dead.ChildName, dead.ClassName));
    }

    /// <summary>
    /// A class gone to the archive takes its class-wide links with it: revoked, so the admin's list and whoever opens one
    /// see that it no longer works (before, it said «действует» and failed only at «Принять»); a one-child link stays.
    /// </summary>
    [Fact]
    public async Task ClassArchived_ItsClassLinksAreRevoked_AcceptIsRefused_AlsoWhenTheSchoolApprovesPupils()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);
        var parents = await school.InviteAsync(school.Admin, "parent", class5A.Id);
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", approveStudents = true })).EnsureOkAsync();
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { archived = true })).EnsureOkAsync();

        var listed = await (await school.Admin.Http.GetAsync($"{school.Api}/invites")).ReadAsync<List<InviteDto>>();
        Assert.Equal(("revoked", "revoked"), (listed.Single(i => i.Id == invite.Id).State, listed.Single(i => i.Id == parents.Id).State));
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ученик");
        Assert.Equal("revoked", (await pupil.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{invite.Token}"))!.State);
        await (await AcceptAsync(pupil, invite)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
        Assert.Empty(await (await school.Admin.Http.GetAsync($"{school.Api}/join-requests")).ReadAsync<List<JoinRequestDto>>());

        // Back from the archive, the class needs new links: the old ones stay revoked.
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { archived = false })).EnsureOkAsync();
        await (await AcceptAsync(pupil, invite)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
    }

    /// <summary>
    /// A pupil's request waits for approval; meanwhile the class, still empty, goes to the archive. Approving it would put
    /// the pupil into a class nobody lists and no class chat follows: refused, with what to do; declining still works.
    /// </summary>
    [Fact]
    public async Task RequestWaiting_ItsClassArchived_ApprovalRefused_DeclineWorks()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №1", approveStudents = true })).EnsureOkAsync();
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ученик");
        var waiting = await TestSchool.AcceptAsync(pupil, invite);
        Assert.Equal("pending", waiting.Status);

        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { archived = true })).EnsureOkAsync();
        var refused = await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{waiting.JoinRequestId}/approve", new { }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "class_not_found");
        Assert.Contains("в архиве", refused.Detail, StringComparison.Ordinal);
        Assert.Empty(await (await pupil.Http.GetAsync("/api/me/schools")).ReadAsync<List<System.Text.Json.JsonElement>>());

        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{waiting.JoinRequestId}/reject", new { reason = "Класс расформирован" })).EnsureOkAsync();
        var mine = Assert.Single(await (await pupil.Http.GetAsync("/api/me/join-requests")).ReadAsync<List<System.Text.Json.JsonElement>>());
        Assert.Equal("rejected", mine.GetProperty("status").GetString());
    }

    [Fact]
    public async Task OneChildParentLinks_AfterTheChildMovedClass_LeadToTheChild_InTheirClassNow_ItsClassTeacherApproves()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Школа №3");
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var petya = await school.AddStudentAsync("Петя Иванов", class5A.Id);
        var forMother = await school.InviteAsync(school.Admin, "parent", childId: petya.AccountId);
        var forFather = await school.InviteAsync(school.Admin, "parent", childId: petya.AccountId);

        // Петя moves to 5Б before his parents open their links; 5А, empty, is archived.
        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{petya.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();
        await (await school.Admin.Http.PatchAsJsonAsync($"{school.Api}/classes/{class5A.Id}", new { archived = true })).EnsureOkAsync();

        var mother = await app.SignInAsync(SchoolBuilder.NewPhone(), "Мама Пети");
        var preview = await PreviewAsync(mother, forMother);
        Assert.Equal(("5Б", "Петя Иванов"), (preview.ClassName, preview.ChildName));
        Assert.Equal("joined", (await (await AcceptAsync(mother, forMother)).ReadAsync<AcceptInviteResult>()).Status);
        Assert.Equal(["Родители 5Б"], await ParentsChatsAsync(school, mother));

        // Where the school confirms parents, the request made through such a link goes to the class teacher of 5Б,
        // where Петя is now: 5А's has it neither in her list nor to approve.
        await (await school.Admin.Http.PutAsJsonAsync(school.Api, new { name = "Школа №3", approveParents = true })).EnsureOkAsync();
        var teacher5A = await school.AddVerifiedTeacherAsync("Классный руководитель 5А", class5A.Id);
        var teacher5B = await school.AddVerifiedTeacherAsync("Классный руководитель 5Б", class5B.Id);
        var father = await app.SignInAsync(SchoolBuilder.NewPhone(), "Папа Пети");
        var pending = await (await AcceptAsync(father, forFather)).ReadAsync<AcceptInviteResult>();
        Assert.Equal("pending", pending.Status);
        var requests = $"{school.Api}/join-requests?status=pending";
        Assert.Empty(await (await teacher5A.Http.GetAsync(requests)).ReadAsync<List<JoinRequestDto>>());
        await (await teacher5A.Http.PostAsJsonAsync($"{school.Api}/join-requests/{pending.JoinRequestId}/approve", new { }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "join_request_not_found");
        Assert.Equal(pending.JoinRequestId, Assert.Single(await (await teacher5B.Http.GetAsync(requests)).ReadAsync<List<JoinRequestDto>>()).Id);
        await (await teacher5B.Http.PostAsJsonAsync($"{school.Api}/join-requests/{pending.JoinRequestId}/approve", new { })).EnsureOkAsync();
        Assert.Equal(["Родители 5Б"], await ParentsChatsAsync(school, father));
    }

    [Fact]
    public async Task ParentOfTwins_ThroughTheClassLink_IsLinkedToBothInOneApproval_OnlyToChildrenOfThatClass()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Школа №4");
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var petya = await school.AddStudentAsync("Петя Смирнов", class5A.Id);
        var masha = await school.AddStudentAsync("Маша Смирнова", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля Быстров", class5B.Id);
        var classLink = await school.InviteAsync(school.Admin, "parent", class5A.Id);
        var mother = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ольга Смирнова");
        var pending = await TestSchool.AcceptAsync(mother, classLink, childName: "Петя и Маша Смирновы");
        Assert.Equal("pending", pending.Status);
        var approve = $"{school.Api}/join-requests/{pending.JoinRequestId}/approve";

        // A child of another class among those picked: refused, and nobody is linked.
        await (await school.Admin.Http.PostAsJsonAsync(approve, new { childIds = new[] { petya.AccountId, kolya.AccountId } }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "child_not_found");
        Assert.Empty(await ChildrenOfAsync(school, mother));

        await (await school.Admin.Http.PostAsJsonAsync(approve, new { childIds = new[] { petya.AccountId, masha.AccountId, petya.AccountId } })).EnsureOkAsync();

        Assert.Equal(new[] { petya.AccountId, masha.AccountId }.Order(), (await ChildrenOfAsync(school, mother)).Order());
        Assert.Equal(["Родители 5А"], await ParentsChatsAsync(school, mother));
    }

    [Fact]
    public async Task Accept_UsedUpInvite_ReturnsInviteUsedUpForTheSecondPerson()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id, maxUses: 1);
        var first = await app.SignInAsync(SchoolBuilder.NewPhone(), "Первый Ученик");
        var second = await app.SignInAsync(SchoolBuilder.NewPhone(), "Второй Ученик");

        Assert.Equal("joined", (await (await AcceptAsync(first, invite)).ReadAsync<AcceptInviteResult>()).Status);

        Assert.Equal("used_up", (await PreviewAsync(second, invite)).State);
        await (await AcceptAsync(second, invite)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_used_up");
        await (await second.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        var listed = Assert.Single(await ListInvitesAsync(school), i => i.Id == invite.Id);
        Assert.Equal((1, 1, "used_up"), (listed.Uses, listed.MaxUses!.Value, listed.State));
    }

    [Fact]
    public async Task RevokeUnused_ForOneClass_RevokesOnlyUnusedLinksOfThatClass()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var usedIn5A = await school.InviteAsync(school.Admin, "student", class5A.Id);
        var unusedIn5A = await school.InviteAsync(school.Admin, "student", class5A.Id);
        var parentsOf5A = await school.InviteAsync(school.Admin, "parent", class5A.Id);
        var unusedIn5B = await school.InviteAsync(school.Admin, "student", class5B.Id);
        var teachers = await school.InviteAsync(school.Admin, "teacher");
        await (await AcceptAsync(await app.SignInAsync(SchoolBuilder.NewPhone(), "Ученик 5А"), usedIn5A)).EnsureOkAsync();

        var response = await school.Admin.Http.PostAsJsonAsync($"{school.Api}/invites/revoke-unused", new { classId = class5A.Id });
        Assert.Equal(2, (await response.ReadAsync<Dictionary<string, int>>())["revoked"]);

        var states = (await ListInvitesAsync(school)).ToDictionary(i => i.Id, i => i.State);
        Assert.Equal("active", states[usedIn5A.Id]);
        Assert.Equal("revoked", states[unusedIn5A.Id]);
        Assert.Equal("revoked", states[parentsOf5A.Id]);
        Assert.Equal("active", states[unusedIn5B.Id]);
        Assert.Equal("active", states[teachers.Id]);
    }

    /// <summary>
    /// A class teacher's links of her class work on her authority: detached from the class, her unused pupil and parent
    /// links are revoked with it (a copied link passed on later lets nobody in), logged without an actor; the admin's
    /// link of the class stays.
    /// </summary>
    [Fact]
    public async Task ClassTeacherDetached_HerLinksOfTheClassAreRevoked_TheAdminsStay()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Классная 5А", classTeacherOf: class5A.Id);
        var hers = await school.InviteAsync(teacher, "parent", class5A.Id);
        var admins = await school.InviteAsync(school.Admin, "student", class5A.Id);

        await (await school.Admin.Http.DeleteAsync($"{school.Api}/classes/{class5A.Id}/teachers/{teacher.AccountId}")).EnsureOkAsync();

        var states = (await ListInvitesAsync(school)).ToDictionary(i => i.Id, i => i.State);
        Assert.Equal(("revoked", "active"), (states[hers.Id], states[admins.Id]));
        var parent = await app.SignInAsync(SchoolBuilder.NewPhone(), "Родитель");
        await (await AcceptAsync(parent, hers)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        var entry = Assert.Single(audit!, e => e.Action == "invite.revoked_by_roster");
        Assert.Equal((hers.Id, (Guid?)null), (entry.SubjectId, entry.ActorId));
    }

    /// <summary>
    /// A link left over from before that rule (its maker no longer the class's teacher, the link never revoked) lets
    /// nobody in: accepting it revokes it first.
    /// </summary>
    [Fact]
    public async Task Accept_LeftOverLinkOfAnExClassTeacher_IsRevokedNotFollowed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Классная 5А", classTeacherOf: class5A.Id);
        var link = await school.InviteAsync(teacher, "student", class5A.Id);
        await app.ExecuteSqlAsync("DELETE FROM class_teachers WHERE account_id = @teacher", new { teacher = teacher.AccountId });

        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ученик");
        await (await AcceptAsync(pupil, link)).ExpectErrorAsync(HttpStatusCode.Gone, "invite_revoked");
        await (await pupil.Http.GetAsync(school.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
    }

    /// <summary>
    /// A class teacher's one-child link for Petya follows him, so it is the class he is in now that counts: moved to 5Б,
    /// which she does not teach, her link is revoked; the admin's one-child link for him still works there.
    /// </summary>
    [Fact]
    public async Task ChildMovedClass_HisOldClassTeachersOneChildLinkIsRevoked_TheAdminsStillWorks()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Классная 5А", classTeacherOf: class5A.Id);
        var petya = await school.AddStudentAsync("Петя", class5A.Id);
        var hers = await school.InviteAsync(teacher, "parent", class5A.Id, childId: petya.AccountId);
        var admins = await school.InviteAsync(school.Admin, "parent", childId: petya.AccountId);

        await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{petya.AccountId}/class", new { classId = class5B.Id })).EnsureOkAsync();

        var states = (await ListInvitesAsync(school)).ToDictionary(i => i.Id, i => i.State);
        Assert.Equal(("revoked", "active"), (states[hers.Id], states[admins.Id]));
    }

    [Fact]
    public async Task RevokeUnused_ByClassTeacher_OnlyForTheirOwnClass()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Классная 5А", classTeacherOf: class5A.Id);
        var own = await school.InviteAsync(teacher, "student", class5A.Id);
        var foreign = await school.InviteAsync(school.Admin, "student", class5B.Id);

        await (await teacher.Http.PostAsJsonAsync($"{school.Api}/invites/revoke-unused", new { classId = class5B.Id }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        await (await teacher.Http.PostAsJsonAsync($"{school.Api}/invites/revoke-unused", new { }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        await (await teacher.Http.PostAsJsonAsync($"{school.Api}/invites/revoke-unused", new { classId = class5A.Id })).EnsureOkAsync();

        var states = (await ListInvitesAsync(school)).ToDictionary(i => i.Id, i => i.State);
        Assert.Equal("revoked", states[own.Id]);
        Assert.Equal("active", states[foreign.Id]);
    }

    [Fact]
    public async Task Create_StudentInviteByTeacherWhoIsNotClassTeacherOfThatClass_ReturnsInviteNotAllowed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class5B = await school.CreateClassAsync("5Б");
        var classTeacher5A = await school.AddVerifiedTeacherAsync("Классная 5А", classTeacherOf: class5A.Id);
        var subjectTeacher = await school.AddVerifiedTeacherAsync("Учитель физики");

        await (await CreateInviteAsync(school, classTeacher5A, new { role = "student", classId = class5B.Id }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        await (await CreateInviteAsync(school, classTeacher5A, new { role = "parent", classId = class5B.Id }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        await (await CreateInviteAsync(school, classTeacher5A, new { role = "teacher" }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        await (await CreateInviteAsync(school, subjectTeacher, new { role = "student", classId = class5A.Id }))
            .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");

        // Their own class is fine.
        var own = await (await CreateInviteAsync(school, classTeacher5A, new { role = "student", classId = class5A.Id })).ReadAsync<InviteDto>();
        Assert.Equal(class5A.Id, own.ClassId);

        // And the lists show each teacher only what they manage.
        await (await subjectTeacher.Http.GetAsync($"{school.Api}/invites")).ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        var visible = await (await classTeacher5A.Http.GetAsync($"{school.Api}/invites")).ReadAsync<List<InviteDto>>();
        Assert.All(visible, i => Assert.Equal(class5A.Id, i.ClassId));
    }

    [Fact]
    public async Task Create_PupilOrParent_ReturnsInviteNotAllowed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var pupil = await school.AddStudentAsync("Ученик", class5A.Id);
        var parent = await school.AddParentAsync("Родитель", pupil.AccountId);

        foreach (var who in new[] { pupil, parent })
        {
            await (await CreateInviteAsync(school, who, new { role = "student", classId = class5A.Id }))
                .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
            await (await CreateInviteAsync(school, who, new { role = "parent", childId = pupil.AccountId }))
                .ExpectErrorAsync(HttpStatusCode.Forbidden, "invite_not_allowed");
        }
    }

    [Fact]
    public async Task Create_InvalidRoleOrClass_ReturnsClearErrors()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var foreignClass = await other.CreateClassAsync("5А");
        var staffRoom = (await school.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.ClassDto>>($"{school.Api}/classes"))!.Single(c => c.Kind == "staff_room");

        var problem = await (await CreateInviteAsync(school, school.Admin, new { role = "admin" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("role"));
        problem = await (await CreateInviteAsync(school, school.Admin, new { role = "student" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("classId"));
        problem = await (await CreateInviteAsync(school, school.Admin, new { role = "teacher", maxUses = 0 })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.Errors?.ContainsKey("maxUses"));

        // A class of another school, or the staff room, is no class to invite pupils into.
        await (await CreateInviteAsync(school, school.Admin, new { role = "student", classId = foreignClass.Id })).ExpectErrorAsync(HttpStatusCode.NotFound, "class_not_found");
        await (await CreateInviteAsync(school, school.Admin, new { role = "student", classId = staffRoom.Id })).ExpectErrorAsync(HttpStatusCode.NotFound, "class_not_found");
    }

    [Fact]
    public async Task Qr_ForInvite_ReturnsPngOfTheLink()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);

        var response = await school.Admin.Http.GetAsync($"{school.Api}/invites/{invite.Id}/qr");
        await response.EnsureOkAsync();

        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(bytes.Length > PngSignature.Length);
        Assert.Equal(PngSignature, bytes[..PngSignature.Length]);

        await (await school.Admin.Http.GetAsync($"{school.Api}/invites/{Guid.NewGuid()}/qr")).ExpectErrorAsync(HttpStatusCode.NotFound, "invite_not_found");
    }

    [Fact]
    public async Task Preview_FreshInvite_ShowsSchoolRoleClassAndState()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Лицей №7");
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id, maxUses: 30, expiresInHours: 48);
        var stranger = await app.SignInAsync(SchoolBuilder.NewPhone());

        var preview = await PreviewAsync(stranger, invite);

        Assert.Equal(("active", school.Id, "Лицей №7", "student", "5А", false), (preview.State, preview.SchoolId, preview.SchoolName, preview.Role, preview.ClassName, preview.RequiresApproval));
        Assert.Equal("active", invite.State);
        Assert.StartsWith("https://school.test/join/", invite.Url);
        Assert.True(invite.Token.Length >= 22, "an invite token carries at least 128 bits");
        await (await stranger.Http.GetAsync($"/api/invites/{new string('x', 32)}")).ExpectErrorAsync(HttpStatusCode.NotFound, "invite_not_found");
        await (await stranger.Http.GetAsync("/api/invites/short")).ExpectErrorAsync(HttpStatusCode.NotFound, "invite_not_found");
    }

    [Fact]
    public async Task Accept_InviteOfSchoolA_GivesNothingInSchoolB()
    {
        var schoolA = await new SchoolBuilder(app).CreateAsync("Школа А");
        var schoolB = await new SchoolBuilder(app).CreateAsync("Школа Б");
        var classA = await schoolA.CreateClassAsync("5А");
        var classB = await schoolB.CreateClassAsync("5А");
        var teacherInviteA = await schoolA.InviteAsync(schoolA.Admin, "teacher");
        var pupilInviteA = await schoolA.InviteAsync(schoolA.Admin, "student", classA.Id);
        var person = await app.SignInAsync(SchoolBuilder.NewPhone(), "Человек из школы А");

        Assert.Equal("joined", (await (await AcceptAsync(person, pupilInviteA)).ReadAsync<AcceptInviteResult>()).Status);
        var pending = await (await AcceptAsync(person, teacherInviteA)).ReadAsync<AcceptInviteResult>();
        Assert.Equal(("pending", schoolA.Id), (pending.Status, pending.SchoolId));

        // In school A they are a pupil; school B does not exist for them.
        var mine = await (await person.Http.GetAsync("/api/me/schools")).ReadAsync<List<MySchoolDto>>();
        Assert.Equal(schoolA.Id, Assert.Single(mine).SchoolId);
        await (await person.Http.GetAsync(schoolB.Api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await person.Http.GetAsync($"{schoolB.Api}/classes")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await person.Http.GetAsync($"{schoolB.Api}/members?classId={classB.Id}")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await CreateInviteAsync(schoolB, person, new { role = "student", classId = classB.Id })).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // School B's admin does not see the person, and their join request lives only in school A.
        var membersB = await (await schoolB.Admin.Http.GetAsync($"{schoolB.Api}/members")).ReadAsync<List<Chat.Hub.Features.Schools.MemberDto>>();
        Assert.DoesNotContain(membersB, m => m.AccountId == person.AccountId);
        Assert.Empty(await (await schoolB.Admin.Http.GetAsync($"{schoolB.Api}/join-requests")).ReadAsync<List<JoinRequestDto>>());
        await (await schoolB.Admin.Http.PostAsJsonAsync($"{schoolB.Api}/join-requests/{pending.JoinRequestId}/approve", new { }))
            .ExpectErrorAsync(HttpStatusCode.NotFound, "join_request_not_found");
        Assert.Single(await (await schoolA.Admin.Http.GetAsync($"{schoolA.Api}/join-requests?status=pending")).ReadAsync<List<JoinRequestDto>>());
    }

    [Fact]
    public async Task Accept_SameStudentInviteTwice_IsIdempotent()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var invite = await school.InviteAsync(school.Admin, "student", class5A.Id);
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ученик");

        await (await AcceptAsync(pupil, invite)).EnsureOkAsync();
        Assert.Equal("joined", (await (await AcceptAsync(pupil, invite)).ReadAsync<AcceptInviteResult>()).Status);

        var school5A = await (await school.Admin.Http.GetAsync($"{school.Api}/members?classId={class5A.Id}")).ReadAsync<List<Chat.Hub.Features.Schools.MemberDto>>();
        Assert.Single(school5A, m => m.AccountId == pupil.AccountId);
    }

    private static async Task<IReadOnlyList<Guid>> ChildrenOfAsync(TestSchool school, TestUser parent) =>
        (await (await school.Admin.Http.GetAsync($"{school.Api}/members")).ReadAsync<List<Chat.Hub.Features.Schools.MemberDto>>())
            .SingleOrDefault(m => m.AccountId == parent.AccountId)?.Children ?? [];

    private static async Task<List<string>> ParentsChatsAsync(TestSchool school, TestUser who) =>
        (await who.Http.GetFromJsonAsync<List<Chat.Hub.Features.Chats.ChatSummaryDto>>($"/api/chats?schoolId={school.Id}"))!
            .Where(c => c.Kind == "parents").Select(c => c.Title).ToList();

    private static Task<HttpResponseMessage> AcceptAsync(TestUser who, InviteDto invite) =>
        who.Http.PostAsJsonAsync($"/api/invites/{invite.Token}/accept", new { });

    private static async Task<InvitePreviewDto> PreviewAsync(TestUser who, InviteDto invite) =>
        await (await who.Http.GetAsync($"/api/invites/{invite.Token}")).ReadAsync<InvitePreviewDto>();

    private static Task<HttpResponseMessage> CreateInviteAsync(TestSchool school, TestUser by, object body) =>
        by.Http.PostAsJsonAsync($"{school.Api}/invites", body);

    private static async Task<List<InviteDto>> ListInvitesAsync(TestSchool school) =>
        await (await school.Admin.Http.GetAsync($"{school.Api}/invites")).ReadAsync<List<InviteDto>>();
}
