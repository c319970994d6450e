using System.Net.Http.Json;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// Members are not de-anonymised: nothing a member gets about other members carries a phone number or an e-mail
/// (mission: closed space; test plan item 33). The raw response text is searched, so a new field cannot slip through.
/// </summary>
public sealed class PrivacyTests(ChatApp app) : IClassFixture<ChatApp>
{
    /// <summary>
    /// The school channel's readers are every pupil and parent of the school. Another class's mother opening its member
    /// list sees who writes there (the admins), not the children of other classes; the admin sees every reader.
    /// </summary>
    [Fact]
    public async Task SchoolChannelMembers_AReaderSeesOnlyWhoWrites_NotOtherClassesChildren()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var class6B = await school.CreateClassAsync("6Б");
        var masha = await school.AddStudentAsync("Маша", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля", class6B.Id);
        var kolyasMother = await school.AddParentAsync("Мама Коли", kolya.AccountId);
        await using var motherHub = await HubClient.ConnectAsync(app, kolyasMother);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        var channel = (await motherHub.ChatsAsync(school.Id)).Single(c => c.Title == "Общешкольный канал");

        var seenByMother = await motherHub.Connection.InvokeAsync<List<Chat.Hub.Features.Chats.ChatMemberDto>>("GetChatMembers", channel.Id);
        Assert.Contains(seenByMother, m => m.AccountId == school.Admin.AccountId);
        Assert.All(seenByMother, m => Assert.NotEqual("member", m.Role));
        Assert.DoesNotContain(seenByMother, m => m.AccountId == masha.AccountId || m.AccountId == kolya.AccountId);

        var seenByAdmin = await adminHub.Connection.InvokeAsync<List<Chat.Hub.Features.Chats.ChatMemberDto>>("GetChatMembers", channel.Id);
        Assert.Contains(seenByAdmin, m => m.AccountId == masha.AccountId);
        Assert.Contains(seenByAdmin, m => m.AccountId == kolyasMother.AccountId);
    }

    /// <summary>
    /// In a small channel (within the read-receipt size) a reader learns how many read a post, never who: «Кто прочитал»
    /// names nobody to her and the other readers' read positions are not pushed to her; the admin who posts sees who.
    /// </summary>
    [Fact]
    public async Task SmallChannel_AReaderLearnsHowManyReadAPost_NotWho_NorOtherReadersPositions()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var class5A = await school.CreateClassAsync("5А");
        var masha = await school.AddStudentAsync("Маша", class5A.Id);
        var kolya = await school.AddStudentAsync("Коля", class5A.Id);
        await using var mashaHub = await HubClient.ConnectAsync(app, masha);
        await using var kolyaHub = await HubClient.ConnectAsync(app, kolya);
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);
        var channel = (await mashaHub.ChatsAsync(school.Id)).Single(c => c.Title == "Общешкольный канал");
        Assert.True(channel.MemberCount <= Chat.Hub.Features.Messages.MessageService.ReadReceiptsLimit);
        var post = await adminHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(channel.Id, Guid.NewGuid(), "Завтра линейка в 8:30", null, null));

        // Маша reads it; then Коля reads it: by the time his own position comes back to him, hers would have come before it.
        await mashaHub.Connection.InvokeAsync<long>("MarkRead", channel.Id, post.Seq);
        await kolyaHub.Connection.InvokeAsync<long>("MarkRead", channel.Id, post.Seq);
        await HubClient.EventuallyAsync(() => kolyaHub.ReadPositions.Any(p => p.AccountId == kolya.AccountId), "Коля's own read position");
        Assert.DoesNotContain(kolyaHub.ReadPositions, p => p.AccountId != kolya.AccountId);

        var seenByKolya = await kolyaHub.Connection.InvokeAsync<ReadByDto>("GetReadBy", channel.Id, post.Seq);
        Assert.Equal((1, null), (seenByKolya.Count, seenByKolya.AccountIds));
        var seenByAdmin = await adminHub.Connection.InvokeAsync<ReadByDto>("GetReadBy", channel.Id, post.Seq);
        Assert.Equal(2, seenByAdmin.Count);
        Assert.Equal(new[] { masha.AccountId, kolya.AccountId }.Order(), seenByAdmin.AccountIds!.Order());
    }

    [Fact]
    public async Task MemberFacingResponses_AnyMember_NeverContainPhonesOrEmails()
    {
        var school = await new SchoolBuilder(app).CreateAsync("Школа тайн");
        var class5A = await school.CreateClassAsync("5А");

        // A class teacher who signed in with an e-mail address.
        var teacher = await app.SignInWithEmailAsync($"klass.{Guid.NewGuid():N}@school.test", "Классная Руководительница");
        var teacherJoin = await TestSchool.AcceptAsync(teacher, await school.InviteAsync(school.Admin, "teacher"));
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{teacherJoin.JoinRequestId}/approve", new { })).EnsureOkAsync();
        await (await school.Admin.Http.PutAsync($"{school.Api}/teachers/{teacher.AccountId}/verification", null)).EnsureOkAsync();
        await (await school.Admin.Http.PutAsync($"{school.Api}/classes/{class5A.Id}/teachers/{teacher.AccountId}", null)).EnsureOkAsync();

        var pupil = await school.AddStudentAsync("Петя Сидоров", class5A.Id);
        var parent = await school.AddParentAsync("Ольга Сидорова", pupil.AccountId);

        // Somebody waiting for approval (a parent with a class-wide link), and someone rejected.
        var waiting = await app.SignInAsync(SchoolBuilder.NewPhone(), "Ждущий Родитель");
        var classParents = await school.InviteAsync(teacher, "parent", class5A.Id);
        Assert.Equal("pending", (await TestSchool.AcceptAsync(waiting, classParents, childName: "Петя Сидоров")).Status);
        var rejected = await app.SignInAsync(SchoolBuilder.NewPhone(), "Отклонённый Учитель");
        var rejectedJoin = await TestSchool.AcceptAsync(rejected, await school.InviteAsync(school.Admin, "teacher"));
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/join-requests/{rejectedJoin.JoinRequestId}/reject", new { reason = "Не наш сотрудник" })).EnsureOkAsync();
        var childInvite = await school.InviteAsync(school.Admin, "parent", childId: pupil.AccountId);

        var everyone = new[] { school.Admin, teacher, pupil, parent, waiting, rejected };
        var secrets = everyone.SelectMany(Identities).ToList();

        var paths = new[]
        {
            school.Api,
            $"{school.Api}/classes",
            $"{school.Api}/members",
            $"{school.Api}/members?classId={class5A.Id}",
            $"{school.Api}/join-requests",
            $"{school.Api}/join-requests?status=pending",
            $"{school.Api}/invites",
            $"{school.Api}/invites?classId={class5A.Id}",
            $"{school.Api}/audit",
            "/api/me/schools",
            "/api/me/join-requests",
            $"/api/invites/{childInvite.Token}",
            $"/api/invites/{classParents.Token}",
        };

        var leaks = new List<string>();
        var read = 0;
        foreach (var viewer in everyone)
        {
            foreach (var path in paths)
            {
                using var response = await viewer.Http.GetAsync(path);
                var text = await response.Content.ReadAsStringAsync();
                read += response.IsSuccessStatusCode ? 1 : 0;
                leaks.AddRange(secrets.Where(s => text.Contains(s, StringComparison.OrdinalIgnoreCase)).Select(s => $"{viewer.Tokens.Account.DisplayName} GET {path}: contains {s}"));
            }
        }

        // The walk really read data (most paths answer the admin), and nothing in it named a phone or an e-mail.
        Assert.True(read >= paths.Length + 10, $"only {read} successful reads");
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));

        // The operator's list of schools does not carry the admin's phone given at registration either.
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        var platform = await (await op.Http.GetAsync("/api/platform/schools")).Content.ReadAsStringAsync();
        Assert.Contains(school.Id.ToString(), platform, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets, s => platform.Contains(s, StringComparison.OrdinalIgnoreCase));

        // Only the person's own /api/me carries their own phone or e-mail.
        Assert.Contains(teacher.Tokens.Account.Email!, await (await teacher.Http.GetAsync("/api/me")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A phone in every form it could be printed in (E.164 digits, national digits), and the e-mail.</summary>
    private static IEnumerable<string> Identities(TestUser user)
    {
        if (user.Tokens.Account.Phone is { } phone)
        {
            yield return phone.TrimStart('+');
            yield return phone[^10..];
        }

        if (user.Tokens.Account.Email is { } email)
        {
            yield return email;
        }
    }
}
