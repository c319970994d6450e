using System.Net;
using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Statistics;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>Attendance of a lesson: who came, how many stretches, who of the class never came; who may see it; school statistics.</summary>
public sealed class CallAttendanceTests(CallsApp app) : IClassFixture<CallsApp>
{
    [Fact]
    public async Task Lesson_RejoinCountsOnce_AbsentPupilListed_OnlyHostAndModeratorsSeeIt_AsCsvToo_StatisticsCountTheCall()
    {
        var l = await Lesson.CreateAsync(app, "Оля");
        var (school, teacher, vasya, petya, stranger, chat) = (l.School, l.Teacher, l.Pupil, l.Pupil2, l.Stranger, l.Chat);
        var absent = Assert.Single(l.MorePupils);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var v = await HubClient.ConnectAsync(app, vasya);
        await using var p = await HubClient.ConnectAsync(app, petya);
        await using var s = await HubClient.ConnectAsync(app, stranger);

        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, true)).Call.CallId;
        await v.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // Vasya drops out and comes back: one person, two stretches.
        await v.Connection.InvokeAsync("LeaveCall", callId);
        await v.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // A pupil of the class may not see the attendance; a pupil of another class learns nothing about the call.
        await v.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId).ExpectHubErrorAsync("attendance_not_allowed");
        await s.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId).ExpectHubErrorAsync("chat_not_found");

        var live = await t.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId);
        Assert.Null(live.EndedAt);
        var vasyaLive = live.People.Single(x => x.AccountId == vasya.AccountId);
        Assert.Equal(2, vasyaLive.Intervals);
        Assert.True(vasyaLive.PresentNow);
        Assert.Null(vasyaLive.LastLeftAt);

        await t.Connection.InvokeAsync("EndCall", callId);

        // After the lesson, over HTTP scoped by the chat: everyone's stretches are closed; Olya never came.
        var report = await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance")).ReadAsync<CallAttendanceDto>();
        Assert.NotNull(report.EndedAt);
        Assert.Equal(3, report.Attended);
        Assert.Single(report.People, x => x.AccountId == vasya.AccountId);
        var vasyaRow = report.People.Single(x => x.AccountId == vasya.AccountId);
        Assert.Equal((true, 2, false), (vasyaRow.Attended, vasyaRow.Intervals, vasyaRow.PresentNow));
        Assert.True(vasyaRow.FirstJoinedAt <= vasyaRow.LastLeftAt);
        Assert.True(vasyaRow.Seconds >= 0);
        var petyaRow = report.People.Single(x => x.AccountId == petya.AccountId);
        Assert.Equal((true, 1), (petyaRow.Attended, petyaRow.Intervals));
        var olya = report.People.Single(x => x.AccountId == absent.AccountId);
        Assert.Equal((false, 0, 0L, "Оля"), (olya.Attended, olya.Intervals, olya.Seconds, olya.DisplayName));
        Assert.Null(olya.FirstJoinedAt);
        Assert.True(report.Absent >= 1);
        Assert.DoesNotContain(report.People, x => x.AccountId == stranger.AccountId);

        // The same list as CSV for a spreadsheet: those who came first, then Olya; names only, no phone or e-mail; the
        // same rules as the list (a pupil may not download it, a call under another chat is not found).
        using var csvAnswer = await teacher.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance.csv");
        Assert.Equal(HttpStatusCode.OK, csvAnswer.StatusCode);
        Assert.Equal("text/csv", csvAnswer.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("lesson-attendance-", csvAnswer.Content.Headers.ContentDisposition?.FileNameStar ?? csvAnswer.Content.Headers.ContentDisposition?.FileName, StringComparison.Ordinal);
        var rows = CsvText.Rows(await csvAnswer.Content.ReadAsByteArrayAsync());
        Assert.Equal(["Участник", "Роль в чате", "Присутствовал", "Сколько раз заходил", "Первый вход (Europe/Moscow)", "Последний выход (Europe/Moscow)",
            "Минут в звонке", "Сейчас в звонке", "Удалён из звонка"], rows[0]);
        Assert.Equal(report.People.Count + 1, rows.Count);
        var vasyaCsv = Assert.Single(rows, r => r[0] == "Вася");
        Assert.Equal(["участник", "да", "2"], vasyaCsv[1..4]);
        Assert.Equal(["нет", "нет"], vasyaCsv[7..]);
        Assert.Equal(["Оля", "участник", "нет", "0", "", "", "0", "нет", "нет"], rows[^1]);
        Assert.All(rows.Skip(1).Take(report.Attended), r => Assert.Equal("да", r[2]));
        Assert.Contains(rows, r => r[1] == "владелец" || r[1] == "модератор"); // the teacher
        Assert.DoesNotContain("+7", string.Join('\n', rows.SelectMany(r => r)), StringComparison.Ordinal);
        Assert.DoesNotContain("@", string.Join('\n', rows.SelectMany(r => r)), StringComparison.Ordinal);

        // Times in the time zone the request names: Vasya's first arrival as a clock in Yekaterinburg (UTC+5) reads.
        using var inYekaterinburg = await teacher.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance.csv?tz=Asia%2FYekaterinburg");
        var local = CsvText.Rows(await inYekaterinburg.Content.ReadAsByteArrayAsync());
        Assert.Equal(("Первый вход (Asia/Yekaterinburg)", "Последний выход (Asia/Yekaterinburg)"), (local[0][4], local[0][5]));
        var firstJoined = vasyaRow.FirstJoinedAt!.Value.UtcDateTime.AddHours(5);
        Assert.Equal(firstJoined.ToString("dd.MM.yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), Assert.Single(local, r => r[0] == "Вася")[4]);
        Assert.Equal(vasyaRow.FirstJoinedAt.Value.UtcDateTime.AddHours(3).ToString("dd.MM.yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), vasyaCsv[4]);
        Assert.StartsWith($"lesson-attendance-{report.StartedAt.UtcDateTime.AddHours(5):yyyy-MM-dd-HHmm}", inYekaterinburg.Content.Headers.ContentDisposition?.FileNameStar ?? inYekaterinburg.Content.Headers.ContentDisposition?.FileName, StringComparison.Ordinal);
        var badZone = await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance.csv?tz=Moscow")).ExpectErrorAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("tz", badZone.Errors!.Keys);
        await (await stranger.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance.csv?tz=Moscow")).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");
        await (await vasya.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance.csv")).ExpectErrorAsync(HttpStatusCode.Forbidden, "attendance_not_allowed");
        await (await teacher.Http.GetAsync($"/api/chats/{l.OtherChat.Id}/calls/{callId}/attendance.csv")).ExpectErrorAsync(HttpStatusCode.NotFound, "call_not_found");
        await (await stranger.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance.csv")).ExpectErrorAsync(HttpStatusCode.NotFound, "chat_not_found");

        // The chat's call history; a pupil may not read it; a call id under another chat is not found.
        var history = await (await teacher.Http.GetAsync($"/api/chats/{chat.Id}/calls")).ReadAsync<List<ChatCallDto>>();
        var item = Assert.Single(history, c => c.CallId == callId);
        Assert.Equal(3, item.Attendees);
        await (await vasya.Http.GetAsync($"/api/chats/{chat.Id}/calls")).ExpectErrorAsync(HttpStatusCode.Forbidden, "attendance_not_allowed");
        await (await vasya.Http.GetAsync($"/api/chats/{chat.Id}/calls/{callId}/attendance")).ExpectErrorAsync(HttpStatusCode.Forbidden, "attendance_not_allowed");
        await (await teacher.Http.GetAsync($"/api/chats/{l.OtherChat.Id}/calls/{callId}/attendance")).ExpectErrorAsync(HttpStatusCode.NotFound, "call_not_found");

        // The school's statistics count the lesson and its attendees.
        var stats = await (await school.Admin.Http.GetAsync($"{school.Api}/statistics")).ReadAsync<SchoolStatsDto>();
        var today = Assert.Single(stats.CallsPerDay);
        Assert.Equal((1, 1, 3), (today.Calls, today.Lessons, today.Attendees));
        var csv = await school.Admin.Http.GetStringAsync($"{school.Api}/statistics.csv");
        Assert.Contains("\n\"Раздел\";\"День (Europe/Moscow)\";\"Звонков\";\"Из них уроков\";\"Минут звонков\";\"Минут участников\";\"Участников\"\n", csv, StringComparison.Ordinal);

        // Statistics count days of the reader's time zone, the JSON as the CSV: a lesson at 22:30 UTC three days ago is
        // on the next day in Moscow (01:30, the zone of a request without tz) and in Vladivostok (08:30), on that day in UTC.
        var utcDay = DateTime.UtcNow.Date.AddDays(-3);
        await app.ExecuteSqlAsync("UPDATE calls SET started_at = @at, ended_at = @at + interval '40 minutes' WHERE id = @callId", new { at = utcDay.AddHours(22.5), callId });
        async Task<DateOnly> LessonDayAsync(string query) =>
            Assert.Single((await (await school.Admin.Http.GetAsync($"{school.Api}/statistics{query}")).ReadAsync<SchoolStatsDto>()).CallsPerDay).Day;
        var day = DateOnly.FromDateTime(utcDay);
        Assert.Equal(day, await LessonDayAsync("?tz=UTC"));
        Assert.Equal(day.AddDays(1), await LessonDayAsync(""));
        Assert.Equal(day.AddDays(1), await LessonDayAsync("?tz=Asia%2FVladivostok"));
        var moscow = CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/statistics.csv"));
        var lesson = Assert.Single(moscow, r => r[0] == "Звонки");
        Assert.Equal([utcDay.AddDays(1).ToString("dd.MM.yyyy", System.Globalization.CultureInfo.InvariantCulture), "1", "1", "40"], lesson[1..5]);
        var utc = CsvText.Rows(await school.Admin.Http.GetByteArrayAsync($"{school.Api}/statistics.csv?tz=UTC"));
        Assert.Equal(utcDay.ToString("dd.MM.yyyy", System.Globalization.CultureInfo.InvariantCulture), Assert.Single(utc, r => r[0] == "Звонки")[1]);
    }

    [Fact]
    public async Task Lesson_AttendanceListsTheClassAsItWas_PupilsWhoLeftStay_PupilWhoCameLaterIsNotListed()
    {
        var l = await Lesson.CreateAsync(app, "Оля");
        var (school, teacher, vasya, petya) = (l.School, l.Teacher, l.Pupil, l.Pupil2);
        var olya = Assert.Single(l.MorePupils);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var v = await HubClient.ConnectAsync(app, vasya);

        // Vasya comes to the lesson; Petya and Olya do not.
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await v.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await t.Connection.InvokeAsync("EndCall", callId);

        // Afterwards Vasya and Olya move to 5Б, and Dima joins 5А.
        var classB = l.OtherChat.ClassId!.Value;
        foreach (var moved in new[] { vasya, olya })
        {
            await (await school.Admin.Http.PutAsJsonAsync($"{school.Api}/students/{moved.AccountId}/class", new { classId = classB })).EnsureOkAsync();
        }

        var dima = await school.AddStudentAsync("Дима", l.Chat.ClassId!.Value);

        // The lesson's attendance is 5А as it was then: Vasya came, Petya and Olya did not, Dima was not in the class.
        var report = await (await teacher.Http.GetAsync($"/api/chats/{l.Chat.Id}/calls/{callId}/attendance")).ReadAsync<CallAttendanceDto>();
        var vasyaRow = report.People.Single(x => x.AccountId == vasya.AccountId);
        Assert.Equal((true, 1, "member"), (vasyaRow.Attended, vasyaRow.Intervals, vasyaRow.ChatRole));
        var olyaRow = report.People.Single(x => x.AccountId == olya.AccountId);
        Assert.Equal((false, "member", "Оля"), (olyaRow.Attended, olyaRow.ChatRole, olyaRow.DisplayName));
        Assert.False(report.People.Single(x => x.AccountId == petya.AccountId).Attended);
        Assert.DoesNotContain(report.People, x => x.AccountId == dima.AccountId);
        Assert.DoesNotContain(report.People, x => x.AccountId == l.Stranger.AccountId);
        Assert.Equal((2, 2), (report.Attended, report.Absent));

        // The chat's history counts the same two who came.
        var history = await (await teacher.Http.GetAsync($"/api/chats/{l.Chat.Id}/calls")).ReadAsync<List<ChatCallDto>>();
        Assert.Equal(2, Assert.Single(history, c => c.CallId == callId).Attendees);
    }
}
