using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Moderation;

/// <summary>The school's rules are the admins' to edit; reports end as deleted, warned or dismissed; the audit log exports as CSV.</summary>
public sealed class RulesAndReportsTests(ChatApp app) : IClassFixture<ChatApp>
{
    /// <summary>A double click saves a rule twice at once: both saves answer, and one rule has the number.</summary>
    [Fact]
    public async Task SavingARuleTwiceAtOnce_BothAnswer_OneRuleHasTheNumber()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        for (var i = 0; i < 5; i++)
        {
            var both = await Task.WhenAll(
                school.Admin.Http.PutAsJsonAsync($"{school.Api}/rules", new { number = 30 + i, text = "Уважайте друг друга." }),
                school.Admin.Http.PutAsJsonAsync($"{school.Api}/rules", new { number = 30 + i, text = "Уважайте друг друга!" }));
            foreach (var response in both)
            {
                await response.EnsureOkAsync();
            }
        }

        var rules = await school.Admin.Http.GetFromJsonAsync<List<RuleDto>>($"{school.Api}/rules");
        Assert.Equal(5, rules!.Count(r => r.Number is >= 30 and < 35));
    }

    [Fact]
    public async Task AdminsEditTheRules_ModeratorsCiteThem_ArchivedRuleCannotBeCited_AuditExportsAsCsv()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        var school = room.School;
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        var seeded = await teacher.Connection.InvokeAsync<List<RuleDto>>("GetRules", school.Id);
        Assert.NotEmpty(seeded);
        Assert.All(seeded, r => Assert.Matches("[А-Яа-яЁё]", r.Text));

        var rule = new { number = 20, text = "Не публикуйте фотографии одноклассников без их согласия." };
        await (await room.Teacher.Http.PutAsJsonAsync($"{school.Api}/rules", rule)).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        var badNumber = await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/rules", new { number = 0, text = "Правило" })).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("number", badNumber.Errors!.Keys);
        var saved = await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/rules", rule)).ReadAsync<RuleDto>();
        Assert.Equal((20, rule.text), (saved.Number, saved.Text));

        // Members see it; a moderator cites it.
        Assert.Contains(await teacher.Connection.InvokeAsync<List<RuleDto>>("GetRules", school.Id), r => r.Id == saved.Id);
        var dialog = Guid.NewGuid();
        var count = await teacher.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(room.ChatId, room.Petya.AccountId, saved.Id, null, "фото без согласия", dialog));
        Assert.Equal(1, count.Violations);

        // Pressed again after a lost answer (the same dialog): still one.
        var again = await teacher.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(room.ChatId, room.Petya.AccountId, saved.Id, null, "фото без согласия", dialog));
        Assert.Equal(1, again.Violations);

        // «О чате» reads each member's count, for moderators only.
        var listed = Assert.Single(await teacher.Connection.InvokeAsync<List<ViolationCountDto>>("GetChatViolations", room.ChatId));
        Assert.Equal((room.Petya.AccountId, 1, false), (listed.AccountId, listed.Violations, listed.MayBeBlocked));
        await using (var petya = await HubClient.ConnectAsync(app, room.Petya))
        {
            await petya.Connection.InvokeAsync<List<ViolationCountDto>>("GetChatViolations", room.ChatId).ExpectHubErrorAsync("moderator_only");
        }

        // Archived, it is no longer offered nor accepted.
        await (await room.Teacher.Http.DeleteAsync($"{school.Api}/rules/{saved.Id}")).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        await (await school.Admin.Http.DeleteAsync($"{school.Api}/rules/{saved.Id}")).EnsureOkAsync();
        await (await school.Admin.Http.DeleteAsync($"{school.Api}/rules/{Guid.NewGuid()}")).ExpectErrorAsync(HttpStatusCode.NotFound, "rule_not_found");
        Assert.DoesNotContain(await teacher.Connection.InvokeAsync<List<RuleDto>>("GetRules", school.Id), r => r.Id == saved.Id);
        await teacher.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(room.ChatId, room.Petya.AccountId, saved.Id, null, "ещё раз"))
            .ExpectHubErrorAsync("rule_not_found");

        // The audit log, for admins only, as CSV a Russian-locale spreadsheet opens: «;» between fields, Russian headers,
        // actions and details (the code and the stored JSON kept in their own columns), times in the reader's time zone:
        // Moscow unless the request names another. A name with «;» and quotes stays one cell.
        await (await room.Teacher.Http.GetAsync($"{school.Api}/audit.csv")).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        await (await room.Teacher.Http.GetAsync($"{school.Api}/audit.csv?tz=Mars%2FOlympus")).ExpectErrorAsync(HttpStatusCode.Forbidden, "admin_only");
        const string AdminName = "Анна \"Завуч\"; Петрова";
        (await school.Admin.Http.PatchAsJsonAsync("/api/me", new { displayName = AdminName })).EnsureSuccessStatusCode();
        await app.ExecuteSqlAsync(
            "INSERT INTO audit_events (school_id, actor_id, action, subject_id, details, at) VALUES (@school, @admin, 'moderation.case_opened', @chat, '{\"reason\": \"жалоба; \\\"срочно\\\"\"}', '2025-03-09 20:05:09+00')",
            new { school = school.Id, admin = school.Admin.AccountId, chat = room.ChatId });
        var caseDetails = (await (await school.Admin.Http.GetAsync($"{school.Api}/audit?limit=1")).ReadAsync<List<Chat.Hub.Features.Schools.AuditEventDto>>())[0].Details;
        Assert.Contains("; \\\"срочно\\\"", caseDetails, StringComparison.Ordinal);

        var csv = CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/audit.csv"));
        Assert.Equal(["№", "Время (Europe/Moscow)", "Кто", "Действие", "Подробности", "Кто (ID)", "Объект (ID)", "Код действия", "Данные (JSON)"], csv[0]);
        Assert.All(csv, r => Assert.Equal(9, r.Length));
        var savedRow = csv.Single(r => r[7] == "rule.saved");
        Assert.Equal((AdminName, "правило школы сохранено", $"20. {rule.text}", school.Admin.AccountId.ToString(), saved.Id.ToString()),
            (savedRow[2], savedRow[3], savedRow[4], savedRow[5], savedRow[6]));
        Assert.Matches(@"^\d+$", savedRow[0]);
        Assert.Matches(@"^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$", savedRow[1]);
        Assert.Equal("правило школы удалено", csv.Single(r => r[7] == "rule.archived")[3]);
        var caseRow = csv.Single(r => r[7] == "moderation.case_opened");
        Assert.Equal(("09.03.2025 23:05:09", AdminName, "открыт разбор чата (права модератора на 24 часа)", "причина: жалоба; \"срочно\"", room.ChatId.ToString(), caseDetails),
            (caseRow[1], caseRow[2], caseRow[3], caseRow[4], caseRow[6], caseRow[8]));
        var raw = await school.Admin.Http.GetStringAsync($"{school.Api}/audit.csv");
        Assert.Contains(";\"Анна \"\"Завуч\"\"; Петрова\";\"правило школы сохранено\";", raw, StringComparison.Ordinal);

        // In Yekaterinburg (UTC+5) the same event is after midnight; an unknown zone is refused.
        var yekaterinburg = CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/audit.csv?tz=Asia%2FYekaterinburg"));
        Assert.Equal("Время (Asia/Yekaterinburg)", yekaterinburg[0][1]);
        Assert.Equal("10.03.2025 01:05:09", yekaterinburg.Single(r => r[7] == "moderation.case_opened")[1]);
        var badZone = await (await school.Admin.Http.GetAsync($"{school.Api}/audit.csv?tz=Mars%2FOlympus")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("tz", badZone.Errors!.Keys);
        var folder = await (await school.Admin.Http.GetAsync($"{school.Api}/audit.csv?tz=Europe")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("tz", folder.Errors!.Keys); // a folder of the zone database, not a zone

        // A long journal is exported whole, not its newest 500 (the page reads it 500 at a time).
        await app.ExecuteSqlAsync(
            "INSERT INTO audit_events (school_id, actor_id, action, subject_id) SELECT @school, @admin, 'chat.updated', gen_random_uuid() FROM generate_series(1, 1200)",
            new { school = school.Id, admin = school.Admin.AccountId });
        var whole = CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/audit.csv"));
        Assert.Contains(whole, r => r[7] == "rule.saved" && r[6] == saved.Id.ToString());
        Assert.True(whole.Count(r => r[7] == "chat.updated" && r[3] == "настройки чата изменены") >= 1200);
    }

    /// <summary>
    /// Four classmates report one rude message; the teacher warns once. The regulations allow a block only after more
    /// than three violations, so one message must not count as four.
    /// </summary>
    [Fact]
    public async Task OneMessageReportedByFour_WarnedOnce_IsOneViolation_TheOtherReportsResolvedWithIt()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 5);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        var rule = (await petya.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        var rude = await petya.SendAsync(room.ChatId, "Вы все глупые");
        var reports = new List<Guid>();
        foreach (var pupil in room.Pupils.Skip(1))
        {
            await using var hub = await HubClient.ConnectAsync(app, pupil);
            reports.Add(await hub.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, null)));
        }

        var warned = await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, reports[0], "warned");
        Assert.Equal(("resolved", "warned"), (warned.Status, warned.Resolution));

        // The decision was about the message: its other three reports are resolved with it, none left open.
        Assert.Empty(await teacher.Connection.InvokeAsync<List<ReportDto>>("GetReports", room.ChatId, "open"));
        var all = await teacher.Connection.InvokeAsync<List<ReportDto>>("GetReports", room.ChatId, "resolved");
        Assert.Equal(reports.Order(), all.Select(r => r.Id).Order());
        Assert.All(all, r => Assert.Equal("warned", r.Resolution));
        await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, reports[3], "warned").ExpectHubErrorAsync("report_resolved");

        // A warning for the same message again (a retry after a lost answer) is still one violation, logged once.
        var again = await teacher.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(room.ChatId, room.Petya.AccountId, rule.Id, rude.Seq, null));
        Assert.Equal((1, false), (again.Violations, again.MayBeBlocked));
        var audit = await room.School.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.AuditEventDto>>($"{room.School.Api}/audit");
        Assert.Single(audit!, e => e.Action == "moderation.violation" && e.SubjectId == room.Petya.AccountId);
        await teacher.Connection.InvokeAsync<RestrictionDto>("BlockMember",
                new BlockRequest(room.ChatId, room.Petya.AccountId, rule.Id, DateTimeOffset.UtcNow.AddDays(7), "Грубость"))
            .ExpectHubErrorAsync("block_needs_violations");

        // Another message is another violation.
        var ruder = await petya.SendAsync(room.ChatId, "И учитель тоже");
        var second = await teacher.Connection.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(room.ChatId, room.Petya.AccountId, rule.Id, ruder.Seq, null));
        Assert.Equal(2, second.Violations);
    }

    /// <summary>
    /// A report's decision, what it does and its audit entry are one transaction: when what it does fails half-way (here
    /// the database refuses the decision's audit entry, after the warning was written), the report is still open, nothing was recorded, and the next try decides
    /// it with one audit entry — never a report resolved with nothing done, nor an action without its entry.
    /// </summary>
    [Fact]
    public async Task ReportDecision_FailsHalfWay_ReportStillOpen_NothingRecorded_NextTryDecidesItOnce()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 2);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var rule = (await petya.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        var rude = await petya.SendAsync(room.ChatId, "Ты глупая");
        var report = await masha.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, null));
        var name = "refuse_" + room.ChatId.ToString("N");
        await app.ExecuteSqlAsync($"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.subject_id = '{report}' THEN RAISE EXCEPTION 'disk full (test)'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER {name} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION {name}();
            """);
        try
        {
            await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, report, "warned").ExpectHubErrorAsync("internal_error");
        }
        finally
        {
            await app.ExecuteSqlAsync($"DROP TRIGGER {name} ON audit_events; DROP FUNCTION {name}();");
        }

        Assert.Equal(report, Assert.Single(await teacher.Connection.InvokeAsync<List<ReportDto>>("GetReports", room.ChatId, "open")).Id);
        Assert.Equal(0, (await teacher.Connection.InvokeAsync<ViolationCountDto>("GetViolations", room.ChatId, room.Petya.AccountId)).Violations);
        var audit = await room.School.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.AuditEventDto>>($"{room.School.Api}/audit");
        Assert.DoesNotContain(audit!, e => e.Action == "moderation.report_resolved" && e.SubjectId == report);

        var warned = await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, report, "warned");
        Assert.Equal(("resolved", "warned"), (warned.Status, warned.Resolution));
        Assert.Equal(1, (await teacher.Connection.InvokeAsync<ViolationCountDto>("GetViolations", room.ChatId, room.Petya.AccountId)).Violations);
        audit = await room.School.Admin.Http.GetFromJsonAsync<List<Chat.Hub.Features.Schools.AuditEventDto>>($"{room.School.Api}/audit");
        Assert.Single(audit!, e => e.Action == "moderation.report_resolved" && e.SubjectId == report);
        Assert.Single(audit!, e => e.Action == "moderation.violation" && e.SubjectId == room.Petya.AccountId);
    }

    /// <summary>
    /// Two moderators resolve two reports of the same message at the same moment. Each resolution takes every open
    /// report of the message, so one wins and the other is told it is resolved — never a deadlock (an internal error).
    /// </summary>
    [Fact]
    public async Task TwoReportsOfOneMessage_ResolvedAtOnceByTwoModerators_OneWins_NoDeadlock()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 3);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var teacherElsewhere = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        await using var third = await HubClient.ConnectAsync(app, room.Pupils[2]);
        var rule = (await petya.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        for (var round = 0; round < 6; round++)
        {
            var rude = await petya.SendAsync(room.ChatId, $"Грубость {round}");
            var r1 = await masha.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, null));
            var r2 = await third.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, null));
            var outcomes = await Task.WhenAll(
                Outcome(teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, r1, "dismissed")),
                Outcome(teacherElsewhere.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, r2, "dismissed")));
            Assert.Equal(["ok", "report_resolved"], outcomes.Order());
        }

        // Two different decisions at once (delete, warn): only the winner's is carried out — before, both were, and
        // only then was one of them told the report was resolved.
        for (var round = 0; round < 6; round++)
        {
            var rude = await petya.SendAsync(room.ChatId, $"Ещё грубость {round}");
            var r1 = await masha.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, null));
            var r2 = await third.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, null));
            var violationsBefore = (await teacher.Connection.InvokeAsync<ViolationCountDto>("GetViolations", room.ChatId, room.Petya.AccountId)).Violations;
            var outcomes = await Task.WhenAll(
                Outcome(teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, r1, "deleted")),
                Outcome(teacherElsewhere.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, r2, "warned")));
            Assert.Equal(["ok", "report_resolved"], outcomes.Order());
            var deletedWon = outcomes[0] == "ok";
            var message = (await teacher.HistoryAsync(room.ChatId)).Single(m => m.Seq == rude.Seq);
            var violations = (await teacher.Connection.InvokeAsync<ViolationCountDto>("GetViolations", room.ChatId, room.Petya.AccountId)).Violations;
            Assert.Equal((deletedWon, deletedWon ? violationsBefore : violationsBefore + 1), (message.Deleted, violations));
        }

        static async Task<string> Outcome(Task<ReportDto> call)
        {
            try
            {
                await call;
                return "ok";
            }
            catch (Microsoft.AspNetCore.SignalR.HubException e)
            {
                return System.Text.RegularExpressions.Regex.Match(e.Message, "HubException: ([a-z_]+):").Groups[1].Value;
            }
        }
    }

    [Fact]
    public async Task Reports_WarnedOrDismissed_LeaveTheMessage_ResolvedOnlyOnce_OnlyModerators()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var rule = (await masha.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        var rude = await petya.SendAsync(room.ChatId, "Ты ничего не понимаешь");
        var joke = await petya.SendAsync(room.ChatId, "Шутка про учителя");

        var first = await masha.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, rude.Seq, rule.Id, "Грубит"));
        var second = await masha.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, joke.Seq, rule.Id, null));
        await masha.Connection.InvokeAsync<Guid>("ReportMessage", new ReportRequest(room.ChatId, 99, rule.Id, null)).ExpectHubErrorAsync("message_not_found");
        await masha.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, first, "dismissed").ExpectHubErrorAsync("moderator_only");

        await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, first, "забыть").ExpectHubErrorAsync("validation_failed");
        var warned = await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, first, "warned");
        var dismissed = await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, second, "dismissed");
        Assert.Equal(("resolved", "warned"), (warned.Status, warned.Resolution));
        Assert.Equal(("resolved", "dismissed"), (dismissed.Status, dismissed.Resolution));
        await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, first, "deleted").ExpectHubErrorAsync("report_resolved");
        await teacher.Connection.InvokeAsync<ReportDto>("ResolveReport", room.ChatId, Guid.NewGuid(), "warned").ExpectHubErrorAsync("report_not_found");

        // Neither a warning nor a dismissal deletes the message.
        Assert.All(await masha.HistoryAsync(room.ChatId), m => Assert.False(m.Deleted));
    }
}
