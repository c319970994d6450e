using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Features.Schools;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Moderation;

/// <summary>Moderation by the school's rules, as the regulations describe it (more than three violations; up to a month).</summary>
public sealed class ModerationStoryTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task InsultsFourTimes_TeacherDeletesWithRules_BlocksTwoWeeks_PupilCanDoNothing_UnblockLifts()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", cls.Id);
        var bully = await school.AddStudentAsync("Вася", cls.Id);
        var classmate = await school.AddStudentAsync("Петя", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var bullyHub = await HubClient.ConnectAsync(app, bully);
        await using var classmateHub = await HubClient.ConnectAsync(app, classmate);
        var chat = (await bullyHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");
        var rules = await teacherHub.Connection.InvokeAsync<List<RuleDto>>("GetRules", school.Id);
        var respect = rules.Single(r => r.Number == 1);

        // Four insults; the classmate reports the first one.
        var insults = new List<MessageDto>();
        for (var i = 1; i <= 4; i++)
        {
            insults.Add(await bullyHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), $"Оскорбление №{i}", null, null)));
        }

        await classmateHub.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(chat.Id, insults[0].Seq, respect.Id, "Он обзывается"));
        var reports = await teacherHub.Connection.InvokeAsync<List<ReportDto>>("GetReports", chat.Id, null);
        Assert.Equal(insults[0].Seq, Assert.Single(reports).MessageSeq);
        var notForPupils = await Assert.ThrowsAsync<HubException>(() => classmateHub.Connection.InvokeAsync<List<ReportDto>>("GetReports", chat.Id, null));
        Assert.Contains("moderator_only:", notForPupils.Message);

        // A moderator cannot delete someone's message without a rule; with the rule she can, and records a violation each time.
        var noRule = await Assert.ThrowsAsync<HubException>(() => teacherHub.Connection.InvokeAsync<MessageDto>("DeleteMessage", chat.Id, insults[1].Seq));
        Assert.Contains("not_message_author:", noRule.Message);
        var deleted = await teacherHub.Connection.InvokeAsync<ReportDto>("ResolveReport", chat.Id, reports[0].Id, "deleted");
        Assert.Equal("resolved", deleted.Status);
        await teacherHub.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(chat.Id, bully.AccountId, respect.Id, insults[0].Seq, null));
        ViolationCountDto count = null!;
        foreach (var insult in insults.Skip(1))
        {
            await teacherHub.Connection.InvokeAsync<MessageDto>("ModerateDelete", chat.Id, insult.Seq, respect.Id);
            if (insult == insults[^1])
            {
                break; // the fourth violation is recorded below, after the refused early block
            }

            count = await teacherHub.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(chat.Id, bully.AccountId, respect.Id, insult.Seq, null));
        }

        Assert.Equal(3, count.Violations);
        Assert.False(count.MayBeBlocked);
        var history = await classmateHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chat.Id, null, null);
        Assert.All(history, m => Assert.True(m.Deleted));

        // After three violations a block is refused; after the fourth it is allowed, but not for 40 days, and not without a rule.
        var twoWeeks = DateTimeOffset.UtcNow.AddDays(14);
        var early = await Assert.ThrowsAsync<HubException>(() =>
            teacherHub.Connection.InvokeAsync<RestrictionDto>("BlockMember", new BlockRequest(chat.Id, bully.AccountId, respect.Id, twoWeeks, "Оскорбления")));
        Assert.Contains("block_needs_violations:", early.Message);
        count = await teacherHub.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(chat.Id, bully.AccountId, respect.Id, insults[^1].Seq, null));
        Assert.True(count.MayBeBlocked);
        var tooLong = await Assert.ThrowsAsync<HubException>(() =>
            teacherHub.Connection.InvokeAsync<RestrictionDto>("BlockMember", new BlockRequest(chat.Id, bully.AccountId, respect.Id, DateTimeOffset.UtcNow.AddDays(40), "Оскорбления")));
        Assert.Contains("block_too_long:", tooLong.Message);
        var noReason = await Assert.ThrowsAsync<HubException>(() =>
            teacherHub.Connection.InvokeAsync<RestrictionDto>("BlockMember", new BlockRequest(chat.Id, bully.AccountId, Guid.Empty, twoWeeks, "Не нравится")));
        Assert.Contains("rule_required:", noReason.Message);
        var block = await teacherHub.Connection.InvokeAsync<RestrictionDto>("BlockMember", new BlockRequest(chat.Id, bully.AccountId, respect.Id, twoWeeks, "Оскорбления одноклассников"));
        Assert.Equal("block", block.Kind);

        // Blocked: he can do nothing in that chat, through the hub or HTTP, and he sees why and until when.
        var send = await Assert.ThrowsAsync<HubException>(() => bullyHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), "Я больше не буду", null, null)));
        Assert.Contains("member_blocked:", send.Message);
        var react = await Assert.ThrowsAsync<HubException>(() => bullyHub.Connection.InvokeAsync<MessageDto>("React", chat.Id, insults[0].Seq, "👍", true));
        Assert.Contains("member_blocked:", react.Message);
        var http = await bully.Http.PostAsJsonAsync($"/api/chats/{chat.Id}/messages", new { clientId = Guid.NewGuid(), text = "Через HTTP" });
        await http.ExpectErrorAsync(System.Net.HttpStatusCode.Forbidden, "member_blocked");
        var mine = await bullyHub.Connection.InvokeAsync<RestrictionDto?>("GetMyRestriction", chat.Id);
        Assert.Equal(("block", 1), (mine!.Kind, mine.RuleNumber));
        Assert.True(mine.EndsAt > DateTime.UtcNow.AddDays(13));

        // The block is in the audit log with the rule and the message snapshots.
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        Assert.Contains(audit!, e => e.Action == "moderation.blocked" && e.SubjectId == bully.AccountId);
        Assert.Contains(audit!, e => e.Action == "moderation.message_deleted" && e.Details.Contains("Оскорбление №2", StringComparison.Ordinal));

        // She unblocks him early; he can write again.
        await teacherHub.Connection.InvokeAsync<RestrictionDto>("UnblockMember", chat.Id, bully.AccountId);
        var apology = await bullyHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), "Извините меня, пожалуйста", null, null));
        Assert.False(apology.Deleted);
    }

    [Fact]
    public async Task Block_EndsByItselfAtItsDate()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", cls.Id);
        var pupil = await school.AddStudentAsync("Ученик", cls.Id);
        await using var teacherHub = await HubClient.ConnectAsync(app, teacher);
        await using var pupilHub = await HubClient.ConnectAsync(app, pupil);
        var chat = (await pupilHub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");
        var rule = (await teacherHub.Connection.InvokeAsync<List<RuleDto>>("GetRules", school.Id)).First();
        await Moderate.BlockAsync(teacherHub.Connection, chat.Id, pupil.AccountId, rule.Id, DateTimeOffset.UtcNow.AddDays(3), "Флуд");
        await Assert.ThrowsAsync<HubException>(() => pupilHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), "Можно?", null, null)));

        // Time passes (the block's end date moves into the past): nobody has to lift it.
        await using (var db = new NpgsqlConnection(app.ConnectionString))
        {
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("UPDATE chat_restrictions SET starts_at = now() - interval '4 days', ends_at = now() - interval '1 second' WHERE chat_id = $1", db);
            cmd.Parameters.AddWithValue(chat.Id);
            await cmd.ExecuteNonQueryAsync();
        }

        var after = await pupilHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), "Спасибо, я всё понял", null, null));
        Assert.Equal(1, after.Seq);
        Assert.Null(await pupilHub.Connection.InvokeAsync<RestrictionDto?>("GetMyRestriction", chat.Id));
    }

    [Fact]
    public async Task Admin_ReadsAChatOnlyThroughALoggedCase()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("10А");
        var pupil = await school.AddStudentAsync("Ученик", cls.Id);
        var classmate = await school.AddStudentAsync("Одноклассник", cls.Id);
        await using var pupilHub = await HubClient.ConnectAsync(app, pupil);
        var direct = await pupilHub.Connection.InvokeAsync<ChatSummaryDto>("OpenDirectChat", school.Id, classmate.AccountId);
        await pupilHub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(direct.Id, Guid.NewGuid(), "Личное", null, null));
        await using var adminHub = await HubClient.ConnectAsync(app, school.Admin);

        var silent = await Assert.ThrowsAsync<HubException>(() => adminHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", direct.Id, null, null));
        Assert.Contains("chat_not_found:", silent.Message);
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats/{direct.Id}/moderation-cases", new { }))
            .ExpectErrorAsync(System.Net.HttpStatusCode.BadRequest, "reason_required");
        await (await school.Admin.Http.PostAsJsonAsync($"{school.Api}/chats/{direct.Id}/moderation-cases", new { reason = "Жалоба родителя на травлю" })).EnsureOkAsync();
        var read = await adminHub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", direct.Id, null, null);
        Assert.Single(read);
        var audit = await school.Admin.Http.GetFromJsonAsync<List<AuditEventDto>>($"{school.Api}/audit");
        Assert.Contains(audit!, e => e.Action == "moderation.case_opened" && e.SubjectId == direct.Id && e.Details.Contains("травлю", StringComparison.Ordinal));
    }
}
