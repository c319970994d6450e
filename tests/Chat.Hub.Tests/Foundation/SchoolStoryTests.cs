using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>The founding story: from an operator registering a school to a parent linked to their child.</summary>
public sealed class SchoolStoryTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task SchoolStory_FromRegistrationToLinkedParent_WorksAndStaysClosed()
    {
        // The operator registers a school on the school's request, naming the first admin's phone.
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        var adminPhone = SchoolBuilder.NewPhone();
        var school = await (await op.Http.PostAsJsonAsync("/api/platform/schools",
            new { name = "Гимназия №5", region = "Татарстан", address = "Казань, ул. Пушкина, 5", adminPhone })).ReadAsync<SchoolDto>();

        // The admin signs in with a code and finds herself admin of that school.
        var admin = await app.SignInAsync(adminPhone, "Ирина Петровна");
        var mySchools = await admin.Http.GetFromJsonAsync<List<MySchoolDto>>("/api/me/schools");
        var mine = Assert.Single(mySchools!);
        Assert.Equal(school.Id, mine.SchoolId);
        Assert.True(mine.IsAdmin);
        var api = $"/api/schools/{school.Id}";

        // The staff room exists from the start; the admin creates «5А».
        var classes = await admin.Http.GetFromJsonAsync<List<ClassDto>>($"{api}/classes");
        Assert.Contains(classes!, c => c.Kind == "staff_room" && c.Name == "Учительская");
        var class5A = await (await admin.Http.PostAsJsonAsync($"{api}/classes", new { name = "5А" })).ReadAsync<ClassDto>();
        Assert.Equal(5, class5A.Grade);
        Assert.Equal("А", class5A.Letter);

        // She invites a teacher; staff joins need approval by default, so a request appears and she approves it.
        var teacherInvite = await (await admin.Http.PostAsJsonAsync($"{api}/invites", new { role = "teacher", expiresInHours = 72, maxUses = 1 })).ReadAsync<InviteDto>();
        Assert.StartsWith("https://school.test/join/", teacherInvite.Url);
        var teacher = await app.SignInAsync(SchoolBuilder.NewPhone(), "Мария Ивановна");
        var preview = await teacher.Http.GetFromJsonAsync<InvitePreviewDto>($"/api/invites/{teacherInvite.Token}");
        Assert.Equal(("active", "Гимназия №5", "teacher", true), (preview!.State, preview.SchoolName, preview.Role, preview.RequiresApproval));
        var accepted = await (await teacher.Http.PostAsJsonAsync($"/api/invites/{teacherInvite.Token}/accept", new { })).ReadAsync<AcceptInviteResult>();
        Assert.Equal("pending", accepted.Status);
        var requests = await admin.Http.GetFromJsonAsync<List<JoinRequestDto>>($"{api}/join-requests?status=pending");
        var request = Assert.Single(requests!);
        Assert.Equal(teacher.AccountId, request.AccountId);
        await (await admin.Http.PostAsJsonAsync($"{api}/join-requests/{request.Id}/approve", new { })).EnsureOkAsync();
        var myRequests = await teacher.Http.GetFromJsonAsync<List<JoinRequestDto>>("/api/me/join-requests");
        Assert.Equal("approved", Assert.Single(myRequests!).Status);

        // An unverified teacher cannot be a class teacher; after verification she can.
        await (await admin.Http.PutAsync($"{api}/classes/{class5A.Id}/teachers/{teacher.AccountId}", null))
            .ExpectErrorAsync(HttpStatusCode.Conflict, "teacher_not_verified");
        await (await admin.Http.PutAsync($"{api}/teachers/{teacher.AccountId}/verification", null)).EnsureOkAsync();
        await (await admin.Http.PutAsync($"{api}/classes/{class5A.Id}/teachers/{teacher.AccountId}", null)).EnsureOkAsync();

        // Every member sees her verified badge (and nobody's phone).
        var roster = await admin.Http.GetFromJsonAsync<List<MemberDto>>($"{api}/members");
        var teacherEntry = roster!.Single(m => m.AccountId == teacher.AccountId);
        Assert.True(teacherEntry.VerifiedTeacher);
        Assert.Contains("class_teacher", teacherEntry.Roles);

        // The class teacher invites a pupil of 5А; the pupil joins at once.
        var pupilInvite = await (await teacher.Http.PostAsJsonAsync($"{api}/invites", new { role = "student", classId = class5A.Id })).ReadAsync<InviteDto>();
        var pupil = await app.SignInAsync(SchoolBuilder.NewPhone(), "Петя Сидоров");
        Assert.Equal("joined", (await (await pupil.Http.PostAsJsonAsync($"/api/invites/{pupilInvite.Token}/accept", new { })).ReadAsync<AcceptInviteResult>()).Status);

        // She invites parents of 5А with a class-wide link: the parent names the child, she confirms the link.
        var parentInvite = await (await teacher.Http.PostAsJsonAsync($"{api}/invites", new { role = "parent", classId = class5A.Id })).ReadAsync<InviteDto>();
        var parent = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ольга Сидорова");
        var parentJoin = await (await parent.Http.PostAsJsonAsync($"/api/invites/{parentInvite.Token}/accept", new { childName = "Петя Сидоров" })).ReadAsync<AcceptInviteResult>();
        Assert.Equal("pending", parentJoin.Status);
        var parentRequest = Assert.Single((await teacher.Http.GetFromJsonAsync<List<JoinRequestDto>>($"{api}/join-requests?status=pending"))!);
        Assert.Equal("Петя Сидоров", parentRequest.ChildName);
        await (await teacher.Http.PostAsJsonAsync($"{api}/join-requests/{parentRequest.Id}/approve", new { childId = pupil.AccountId })).EnsureOkAsync();

        var members5A = await teacher.Http.GetFromJsonAsync<List<MemberDto>>($"{api}/members?classId={class5A.Id}");
        Assert.Equal(class5A.Id, members5A!.Single(m => m.AccountId == pupil.AccountId).ClassId);
        Assert.Equal([pupil.AccountId], members5A!.Single(m => m.AccountId == parent.AccountId).Children);

        // The parent sees the school as a parent.
        var parentSchool = await parent.Http.GetFromJsonAsync<SchoolDto>(api);
        Assert.Equal(["parent"], parentSchool!.MyRoles);

        // The admin of another school sees nothing of this one: not the school, not its classes, not its people.
        var other = await new SchoolBuilder(app).CreateAsync("Школа №2");
        await (await other.Admin.Http.GetAsync(api)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await other.Admin.Http.GetAsync($"{api}/classes")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await other.Admin.Http.GetAsync($"{api}/members")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await other.Admin.Http.PostAsJsonAsync($"{api}/invites", new { role = "student", classId = class5A.Id })).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");
        await (await other.Admin.Http.PutAsync($"{api}/classes/{class5A.Id}/teachers/{other.Admin.AccountId}", null)).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // An id that does not exist gets the very same answer as a school one may not see.
        await (await other.Admin.Http.GetAsync($"/api/schools/{Guid.NewGuid()}")).ExpectErrorAsync(HttpStatusCode.NotFound, "school_not_found");

        // Every step left an audit trail for the admin.
        var audit = await admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{api}/audit");
        Assert.Contains(audit!, e => e.Action == "teacher.verified" && e.SubjectId == teacher.AccountId);
        Assert.Contains(audit!, e => e.Action == "join_request.approved");
    }
}
