using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Calls in the chat view: planned lessons, a live lesson found by a pupil who comes later, attendance.</summary>
[Collection(WebCollection.Name)]
public sealed class CallTests(WebApp app) : WebTest(app)
{
    /// <summary>Counts the page's GetCall invocations from now on in <c>window.getCalls</c>.</summary>
    private const string CountGetCalls = """
        () => {
          const hub = window.callState.hub, invoke = hub.invoke.bind(hub);
          window.getCalls = 0;
          hub.invoke = (method, ...args) => { if (method === 'GetCall') window.getCalls++; return invoke(method, ...args); };
        }
        """;

    [Fact]
    public async Task Teacher_SchedulesLessons_OpensOne_LatePupilJoins_RaisesHand_TeacherSeesAttendance()
    {
        var school = await Scene.SchoolAsync("Школа №31");
        var classId = await school.ClassAsync("7Б");
        var teacher = await school.TeacherAsync("Ольга Петровна", classTeacherOf: classId);
        var liza = await school.PupilAsync("Лиза Орлова", classId);
        await school.PupilAsync("Гоша Лебедев", classId);

        // The teacher plans two lessons in her local time (the pages run in Moscow time): one in five minutes (open
        // now: ten minutes before), one tomorrow.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "7Б");
        var moscow = TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow");
        var now = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, moscow);
        var soon = now.AddMinutes(5);
        var tomorrow = now.Date.AddDays(1).AddHours(9);
        await ScheduleAsync(teacherPage, "Алгебра", soon.DateTime);
        await ScheduleAsync(teacherPage, "Геометрия", tomorrow);
        var plans = teacherPage.Locator(".plans");
        await Expect(plans.Locator(".plan")).ToHaveCountAsync(2);
        var algebra = plans.Locator(".plan", new() { HasText = "Алгебра" });
        var geometry = plans.Locator(".plan", new() { HasText = "Геометрия" });
        await Expect(algebra).ToContainTextAsync(soon.ToString("HH:mm", CultureInfo.InvariantCulture));
        await Expect(geometry).ToContainTextAsync("09:00");
        await Expect(geometry).ToContainTextAsync("вход с 08:50");
        await Expect(geometry.GetByRole(AriaRole.Link, new() { Name = "Присоединиться" })).ToHaveCountAsync(0);
        await Screenshot(teacherPage, "call-plans-desktop");

        // The pupil sees the plans (in local time) and the cancellation of one of them, live.
        var pupilPage = await PageAsync(Phone);
        await SignInAsync(pupilPage, liza.Phone);
        await OpenChatAsync(pupilPage, "7Б");
        await Expect(pupilPage.Locator(".plans .plan", new() { HasText = "Геометрия" })).ToContainTextAsync("09:00");
        await Expect(pupilPage.Locator(".plans .plan", new() { HasText = "Геометрия" }).GetByRole(AriaRole.Button, new() { Name = "Отменить" })).ToHaveCountAsync(0);
        // The announcement message carries the time in UTC (ISO 8601); the page shows it in local time.
        var announcement = pupilPage.Locator(".msg .text", new() { HasText = "«Геометрия»" });
        await Expect(announcement).ToContainTextAsync("Запланирован урок «Геометрия» на ");
        await Expect(announcement.Locator("time")).ToContainTextAsync("09:00");
        await Expect(announcement).Not.ToContainTextAsync("UTC");
        await Screenshot(pupilPage, "call-plans-phone");
        // The teacher's «Отменить» asks in the page's dialog: «Отмена» keeps the plan (the focus is back on «Отменить»),
        // «Отменить урок» cancels it.
        var cancel = geometry.GetByRole(AriaRole.Button, new() { Name = "Отменить" });
        await cancel.ClickAsync();
        var sure = teacherPage.GetByRole(AriaRole.Dialog, new() { Name = "Отменить «Геометрия»?" });
        await Expect(sure).ToContainTextAsync("Урок «Геометрия» исчезнет из запланированных у всех участников чата.");
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отмена", Exact = true }).ClickAsync();
        await Expect(sure).ToHaveCountAsync(0);
        await Expect(cancel).ToBeFocusedAsync();
        await Expect(plans.Locator(".plan")).ToHaveCountAsync(2);
        await cancel.ClickAsync();
        await sure.GetByRole(AriaRole.Button, new() { Name = "Отменить урок", Exact = true }).ClickAsync();
        await Expect(sure).ToHaveCountAsync(0);
        await Expect(plans.Locator(".plan")).ToHaveCountAsync(1);
        await Expect(pupilPage.Locator(".plans .plan")).ToHaveCountAsync(1);
        await Expect(pupilPage.Locator(".call-banner")).ToHaveCountAsync(0);

        // The teacher opens the planned lesson and hosts it.
        var teacherCall = await teacherPage.RunAndWaitForPopupAsync(() => algebra.GetByRole(AriaRole.Link, new() { Name = "Присоединиться" }).ClickAsync());
        await Expect(teacherCall.Locator("#participants")).ToContainTextAsync("Ольга Петровна (вы)");
        await Expect(teacherCall.Locator("h1")).ToHaveTextAsync("Урок");
        await Expect(teacherCall.Locator("#status")).ToContainTextAsync("без видео и звука"); // headless: no camera
        await Expect(teacherCall.GetByRole(AriaRole.Button, new() { Name = "Завершить звонок" })).ToBeVisibleAsync();

        // «Ссылка на звонок»: the call's address for someone of the school outside the chat (the waiting room lets them in).
        await teacherCall.GetByRole(AriaRole.Button, new() { Name = "Ссылка на звонок" }).ClickAsync();
        var callIdOnPage = await teacherCall.EvaluateAsync<string>("() => window.callState.callId");
        await Expect(teacherCall.GetByLabel("Ссылка", new() { Exact = true })).ToHaveValueAsync($"{App.BaseUrl}/call.html#call={callIdOnPage}");
        await Expect(teacherCall.Locator(".toast")).ToContainTextAsync("зал ожидания");

        // A pupil who opens the chat after the lesson started (a fresh page: no CallStarted reached it) still sees
        // it (GetChatCall) and joins. The teacher's page takes her from the push alone (no GetCall per join).
        await teacherCall.EvaluateAsync(CountGetCalls);
        await pupilPage.ReloadAsync();
        await OpenChatAsync(pupilPage, "7Б");
        var banner = pupilPage.Locator(".call-banner");
        await Expect(banner).ToContainTextAsync("Идёт урок");
        await ScreenshotBoth(pupilPage, "call-live-banner");
        var pupilCall = await pupilPage.RunAndWaitForPopupAsync(() => banner.GetByRole(AriaRole.Link, new() { Name = "Присоединиться" }).ClickAsync());
        await Expect(pupilCall.Locator("#status")).ToHaveTextAsync("Вы на уроке.");
        await Expect(pupilCall.Locator("#participants li")).ToHaveCountAsync(2);
        await Expect(pupilCall.Locator("#participants")).ToContainTextAsync("Лиза Орлова (вы)");

        var lizaOnTeacher = teacherCall.Locator("#participants li", new() { HasText = "Лиза Орлова" });
        await Expect(lizaOnTeacher).ToHaveCountAsync(1);
        Assert.Equal(0, await teacherCall.EvaluateAsync<int>("() => window.getCalls"));

        // She raises her hand (the teacher sees it), lowers it, raises it again; the teacher lets her speak.
        await pupilCall.GetByRole(AriaRole.Button, new() { Name = "Поднять руку" }).ClickAsync();
        await Expect(lizaOnTeacher).ToContainTextAsync("поднял(а) руку");
        await Expect(teacherCall.GetByRole(AriaRole.Button, new() { Name = "Поднять руку" })).ToBeHiddenAsync();
        await ScreenshotBoth(teacherCall, "call-hand");
        await pupilCall.GetByRole(AriaRole.Button, new() { Name = "Опустить руку" }).ClickAsync();
        await Expect(lizaOnTeacher).Not.ToContainTextAsync("поднял(а) руку");
        await pupilCall.GetByRole(AriaRole.Button, new() { Name = "Поднять руку" }).ClickAsync();
        await Expect(lizaOnTeacher).ToContainTextAsync("поднял(а) руку");
        await lizaOnTeacher.GetByRole(AriaRole.Button, new() { Name = "Разрешить говорить" }).ClickAsync();
        await Expect(lizaOnTeacher).Not.ToContainTextAsync("слушает");
        await Expect(lizaOnTeacher).Not.ToContainTextAsync("поднял(а) руку"); // the server lowers it when she may speak
        await Expect(pupilCall.GetByRole(AriaRole.Button, new() { Name = "Поднять руку" })).ToBeVisibleAsync();
        await ScreenshotBoth(pupilCall, "call-pupil");

        // The teacher ends the lesson: the banner goes away.
        await EndCallForAllAsync(teacherCall);
        await Expect(pupilCall.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        await Expect(banner).ToHaveCountAsync(0);
        await Expect(pupilPage.Locator(".plans .plan", new() { HasText = "Алгебра" })).ToContainTextAsync("завершён");
        await Expect(pupilPage.Locator(".plans").GetByRole(AriaRole.Link, new() { Name = "Присоединиться" })).ToHaveCountAsync(0);

        // Attendance in «О чате»: Liza came, Gosha never did. A pupil has no such section.
        await teacherPage.BringToFrontAsync();
        await (await HeaderMenuItemAsync(teacherPage, "О чате")).ClickAsync();
        var calls = teacherPage.GetByRole(AriaRole.Region, new() { Name = "Уроки и звонки" });
        await Expect(calls.Locator(".chat-call")).ToHaveCountAsync(1);
        await Expect(calls.Locator(".chat-call")).ToContainTextAsync("Урок");
        await Expect(calls.Locator(".chat-call")).ToContainTextAsync("2 участника");
        await calls.GetByRole(AriaRole.Button, new() { Name = "Посещаемость" }).ClickAsync();
        await Expect(calls.Locator(".attendance-table caption")).ToHaveTextAsync("Пришли: 2 · не пришли: 1");
        await Expect(calls.Locator(".attendance-table tr.came", new() { HasText = "Лиза Орлова" })).ToHaveCountAsync(1);
        await Expect(calls.Locator(".attendance-table tr.came", new() { HasText = "Ольга Петровна" })).ToHaveCountAsync(1);
        await Expect(calls.Locator(".absent li")).ToHaveTextAsync("Гоша Лебедев");
        await Expect(calls.Locator(".attendance-table")).Not.ToContainTextAsync("Гоша");
        await ScreenshotBoth(teacherPage, "call-attendance");
        // The CSV is asked for in the teacher's time zone (her browser's), Moscow.
        var attendanceCsv = teacherPage.WaitForRequestAsync(new Regex(@"/attendance\.csv"));
        var csv = await teacherPage.RunAndWaitForDownloadAsync(() => calls.GetByRole(AriaRole.Button, new() { Name = "Скачать посещаемость (CSV)" }).ClickAsync());
        Assert.EndsWith("/attendance.csv?tz=Europe%2FMoscow", (await attendanceCsv).Url, StringComparison.Ordinal);
        Assert.StartsWith("урок-посещаемость-", csv.SuggestedFilename, StringComparison.Ordinal);
        var csvText = await File.ReadAllTextAsync(await csv.PathAsync());
        Assert.StartsWith("\"Участник\";\"Роль в чате\";\"Присутствовал\";\"Сколько раз заходил\";\"Первый вход (Europe/Moscow)\";", csvText.TrimStart('\uFEFF'), StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\n""Лиза Орлова"";""участник"";да;1;\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d;"), csvText);
        Assert.Contains("\n\"Гоша Лебедев\";\"участник\";нет;0;;;0;нет;нет\n", csvText, StringComparison.Ordinal);
        await (await HeaderMenuItemAsync(pupilPage, "О чате")).ClickAsync();
        await Expect(pupilPage.Locator(".side-panel .members")).ToContainTextAsync("Ольга Петровна");
        await Expect(pupilPage.GetByRole(AriaRole.Region, new() { Name = "Уроки и звонки" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task PlannedLesson_PupilGetsReminderToastAndBadge_OpensChat_StartReplacesIt_JoinsFromIt()
    {
        var school = await Scene.SchoolAsync("Школа №32");
        var classId = await school.ClassAsync("8В");
        var teacher = await school.TeacherAsync("Ирина Сергеевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Дима Соколов", classId);

        // The pupil is signed in with no chat open.
        var pupilPage = await PageAsync(Desktop);
        await SignInAsync(pupilPage, pupil.Phone);
        var classChat = ChatItem(pupilPage, "8В");
        await Expect(classChat).ToHaveCountAsync(1);

        // The teacher plans a lesson for later; the test server reminds a minute ahead, so the start is moved to 50
        // seconds from now: the "soon" reminder goes out at once.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "8В");
        await ScheduleAsync(teacherPage, "Физика", InHalfAnHour());
        var chatId = await School.ChatIdAsync(teacher, school.Id, "8В");
        Task<int> MoveStart(string after) => App.ExecuteSqlAsync(
            $"UPDATE call_plans SET starts_at = now() + interval '{after}' WHERE chat_id = @chatId AND title = 'Физика'", new { chatId });
        await MoveStart("50 seconds");

        // Not in the chat: a toast and a mark in the list.
        var toast = pupilPage.Locator(".toast.call-reminder");
        await Expect(toast).ToHaveCountAsync(1);
        await Expect(toast).ToContainTextAsync("Через 1 минуту: Физика");
        await Expect(toast).ToContainTextAsync("8В");
        await Expect(classChat.Locator(".badge.call-soon")).ToHaveTextAsync("звонок скоро");
        await Screenshot(pupilPage, "call-reminder-toast-desktop");

        // The toast opens the chat, which shows the reminder instead.
        await toast.Locator(".toast-open").ClickAsync();
        await Expect(pupilPage.Locator(".chat-head h2")).ToHaveTextAsync("8В");
        await Expect(toast).ToHaveCountAsync(0);
        var reminder = pupilPage.Locator(".banner.call-reminder");
        await Expect(reminder).ToHaveCountAsync(1);
        await Expect(reminder).ToContainTextAsync("Через 1 минуту: Физика");

        // The teacher, in the chat, has the banner too and dismisses it.
        var teacherReminder = teacherPage.Locator(".banner.call-reminder");
        await Expect(teacherReminder).ToContainTextAsync("Через 1 минуту: Физика");
        await teacherReminder.GetByRole(AriaRole.Button, new() { Name = "Скрыть напоминание" }).ClickAsync();
        await Expect(teacherReminder).ToHaveCountAsync(0);
        await Expect(ChatItem(teacherPage, "8В").Locator(".badge.call-soon")).ToHaveCountAsync(0);

        // The start reminder replaces the "soon" one (and comes back to the teacher, who dismissed only that one).
        await MoveStart("0 seconds");
        await Expect(reminder).ToContainTextAsync("Начинается: Физика");
        await Expect(reminder).ToHaveCountAsync(1);
        await Expect(classChat.Locator(".badge.call-soon")).ToHaveTextAsync("звонок начинается");
        await Expect(teacherReminder).ToContainTextAsync("Начинается: Физика");
        await ScreenshotBoth(pupilPage, "call-reminder-banner");

        // «Подключиться» joins the planned lesson (the first to come opens it, the teacher its host); the live-call
        // banner takes over from the reminders.
        var pupilCall = await pupilPage.RunAndWaitForPopupAsync(() => reminder.GetByRole(AriaRole.Link, new() { Name = "Подключиться" }).ClickAsync());
        await Expect(pupilCall.Locator("#status")).ToHaveTextAsync("Вы на уроке.");
        await Expect(pupilCall.Locator("#participants")).ToContainTextAsync("Дима Соколов (вы)");
        await Expect(pupilPage.Locator(".call-banner")).ToContainTextAsync("Идёт урок");
        await Expect(reminder).ToHaveCountAsync(0);
        await Expect(classChat.Locator(".badge.call-soon")).ToHaveCountAsync(0);
        await Expect(teacherPage.Locator(".call-banner")).ToContainTextAsync("Идёт урок");
        await Expect(teacherReminder).ToHaveCountAsync(0);

        // The chats' banners follow who comes and goes (ParticipantJoined / ParticipantLeft).
        await Expect(pupilPage.Locator(".call-banner")).ToContainTextAsync("участников: 1");
        var teacherCall = await teacherPage.RunAndWaitForPopupAsync(() => teacherPage.Locator(".call-banner").GetByRole(AriaRole.Link, new() { Name = "Присоединиться" }).ClickAsync());
        await Expect(teacherCall.Locator("#participants li")).ToHaveCountAsync(2);
        await Expect(pupilPage.Locator(".call-banner")).ToContainTextAsync("участников: 2");
        await teacherCall.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(pupilPage.Locator(".call-banner")).ToContainTextAsync("участников: 1");

        // The only participant leaves: the call is over.
        await pupilCall.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(pupilPage.Locator(".call-banner")).ToHaveCountAsync(0);
    }

    /// <summary>Half an hour from now on the wall clock of the school (Moscow), as the plan form takes it.</summary>
    private static DateTime InHalfAnHour() =>
        TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow")).AddMinutes(30).DateTime;

    /// <summary>The chat's plan <paramref name="title"/> starts in 50 s: its "in a minute" reminder goes out at the next poll.</summary>
    private Task<int> StartSoonAsync(Guid chatId, string title) => App.ExecuteSqlAsync(
        "UPDATE call_plans SET starts_at = now() + interval '50 seconds' WHERE chat_id = @chatId AND title = @title", new { chatId, title });

    /// <summary>The teacher's open chat: «Отменить» on the plan, confirmed with «Отменить урок».</summary>
    private static async Task CancelPlanAsync(IPage teacherPage, string title)
    {
        await teacherPage.Locator(".plans .plan", new() { HasText = title }).GetByRole(AriaRole.Button, new() { Name = "Отменить" }).ClickAsync();
        await teacherPage.GetByRole(AriaRole.Dialog, new() { Name = $"Отменить «{title}»?" })
            .GetByRole(AriaRole.Button, new() { Name = "Отменить урок", Exact = true }).ClickAsync();
    }

    private static async Task ScheduleAsync(IPage page, string title, DateTime localStart)
    {
        await (await HeaderMenuItemAsync(page, "Запланировать урок")).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Запланировать урок" });
        await dialog.GetByLabel("Название").FillAsync(title);
        await dialog.GetByLabel("Начало").FillAsync(localStart.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
        await Expect(dialog.GetByRole(AriaRole.Checkbox, new() { NameRegex = new Regex("Режим урока") })).ToBeCheckedAsync();
        if (title == "Алгебра")
        {
            await Screenshot(page, "call-schedule-desktop");
        }

        await dialog.GetByRole(AriaRole.Button, new() { Name = "Запланировать" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(page.Locator(".plans .plan", new() { HasText = title })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task ChatList_MarksALiveLessonStartedBeforeThePageOpened_AndForgetsOneThatEndedWhileThePageWasOffline()
    {
        var school = await Scene.SchoolAsync("Школа №34");
        var classId = await school.ClassAsync("6А");
        var teacher = await school.TeacherAsync("Анна Викторовна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Саша Белов", classId);

        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "6А");
        async Task<IPage> StartLessonAsync()
        {
            var host = await teacherPage.RunAndWaitForPopupAsync(() => teacherPage.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
            await Expect(host.Locator("#participants")).ToContainTextAsync("(вы)");
            return host;
        }

        async Task EndLessonAsync(IPage host)
        {
            await EndCallForAllAsync(host);
            await Expect(host.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
            await host.CloseAsync();
        }

        // A lesson started before the pupil's page opened: the chat list says so without the chat being opened.
        var host = await StartLessonAsync();
        var pupilPage = await PageAsync(Desktop);
        await SignInAsync(pupilPage, pupil.Phone);
        var classChat = ChatItem(pupilPage, "6А");
        await Expect(classChat).ToContainTextAsync("● идёт урок");
        await EndLessonAsync(host);
        await Expect(classChat).Not.ToContainTextAsync("идёт");

        // The next lesson is announced live; it ends while the pupil's page is offline (CallEnded never reaches it):
        // back online, the list read again no longer has it, and neither has the page.
        host = await StartLessonAsync();
        await Expect(classChat).ToContainTextAsync("● идёт урок");
        await pupilPage.Context.SetOfflineAsync(true);
        await Expect(pupilPage.Locator("#status")).ToContainTextAsync("Нет сети");
        await EndLessonAsync(host);
        await pupilPage.Context.SetOfflineAsync(false);
        await Expect(pupilPage.Locator("#status")).ToBeHiddenAsync();
        await Expect(classChat).Not.ToContainTextAsync("идёт");
    }

    [Fact]
    public async Task ChatList_ALessonReplacedByACallWhileThePageWasOffline_TheMarkFollowsTheServersList()
    {
        var school = await Scene.SchoolAsync("Школа №36");
        var classId = await school.ClassAsync("6В");
        var teacher = await school.TeacherAsync("Елена Андреевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Настя Зуева", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "6В");

        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "6В");
        var pupilPage = await PageAsync(Desktop);
        await SignInAsync(pupilPage, pupil.Phone);
        var classChat = ChatItem(pupilPage, "6В");

        // A lesson is announced to the pupil's page live.
        var lesson = await teacherPage.RunAndWaitForPopupAsync(() => teacherPage.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(lesson.Locator("#participants")).ToContainTextAsync("(вы)");
        await Expect(classChat).ToContainTextAsync("● идёт урок");

        // While the page is offline the lesson ends and the teacher calls the class instead (not a lesson): neither
        // CallEnded nor CallStarted reaches the page. Back online, the list read again names the call, and so does the page.
        await pupilPage.Context.SetOfflineAsync(true);
        await Expect(pupilPage.Locator("#status")).ToContainTextAsync("Нет сети");
        await EndCallForAllAsync(lesson);
        await Expect(lesson.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        await lesson.CloseAsync();
        var call = await teacherPage.Context.NewPageAsync();
        await call.GotoAsync($"{App.BaseUrl}/call.html#chat={chatId}&autostart=1");
        await Expect(call.Locator("#participants")).ToContainTextAsync("(вы)");
        await pupilPage.Context.SetOfflineAsync(false);
        await Expect(pupilPage.Locator("#status")).ToBeHiddenAsync();
        await Expect(classChat).ToContainTextAsync("● идёт звонок");
        await Expect(classChat).Not.ToContainTextAsync("идёт урок");

        // The call ends while the page is online: the mark goes.
        await EndCallForAllAsync(call);
        await Expect(call.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        await Expect(classChat).Not.ToContainTextAsync("идёт");
    }

    [Fact]
    public async Task PageOpenedAfterTheLessonsReminderWentOut_ShowsTheReminderToo()
    {
        var school = await Scene.SchoolAsync("Школа №35");
        var classId = await school.ClassAsync("6Б");
        var teacher = await school.TeacherAsync("Галина Петровна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Лёва Егоров", classId);

        // The reminder goes out (the test server reminds a minute ahead) while the pupil has no page open.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "6Б");
        await ScheduleAsync(teacherPage, "История", InHalfAnHour());
        var chatId = await School.ChatIdAsync(teacher, school.Id, "6Б");
        await App.ExecuteSqlAsync("UPDATE call_plans SET starts_at = now() + interval '50 seconds' WHERE chat_id = @chatId AND title = 'История'", new { chatId });
        await Expect(teacherPage.Locator(".banner.call-reminder")).ToContainTextAsync("Через 1 минуту: История");

        // The pupil opens the app afterwards: the toast and the list's mark are there as for a page that was open.
        var pupilPage = await PageAsync(Desktop);
        await SignInAsync(pupilPage, pupil.Phone);
        var toast = pupilPage.Locator(".toast.call-reminder");
        await Expect(toast).ToContainTextAsync("Через 1 минуту: История");
        await Expect(ChatItem(pupilPage, "6Б").Locator(".badge.call-soon")).ToHaveTextAsync("звонок скоро");

        // Closed, it stays closed when the page reconnects (the catch-up is asked again).
        await toast.GetByRole(AriaRole.Button, new() { Name = "Скрыть напоминание" }).ClickAsync();
        await Expect(toast).ToHaveCountAsync(0);
        await pupilPage.Context.SetOfflineAsync(true);
        await Expect(pupilPage.Locator("#status")).ToContainTextAsync("Нет сети");
        await pupilPage.Context.SetOfflineAsync(false);
        await Expect(pupilPage.Locator("#status")).ToBeHiddenAsync();
        await pupilPage.WaitForTimeoutAsync(1500); // the catch-up after the list: an absence needs a moment to be one
        await Expect(toast).ToHaveCountAsync(0);
        await Expect(ChatItem(pupilPage, "6Б").Locator(".badge.call-soon")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Reconnect_AReminderOfAPlanCancelledWhileOffline_Goes_OneThatCameDuringTheCatchUp_Stays()
    {
        var school = await Scene.SchoolAsync("Школа №37");
        var classId = await school.ClassAsync("7Г");
        var teacher = await school.TeacherAsync("Марина Олеговна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Костя Рябов", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "7Г");

        var pupilPage = await PageAsync(Desktop);
        var gate = await HubGate.RouteAsync(pupilPage);
        await SignInAsync(pupilPage, pupil.Phone);
        await Expect(ChatItem(pupilPage, "7Г")).ToBeVisibleAsync();

        // Two lessons planned; the first one's reminder reaches the pupil's page.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "7Г");
        var later = InHalfAnHour();
        await ScheduleAsync(teacherPage, "Химия", later);
        await ScheduleAsync(teacherPage, "Биология", later);
        await StartSoonAsync(chatId, "Химия");
        var chemistry = pupilPage.Locator(".toast.call-reminder", new() { HasText = "Химия" });
        await Expect(chemistry).ToContainTextAsync("Через 1 минуту: Химия");

        // The teacher cancels that lesson while the pupil's page is offline (nothing reaches the page).
        await pupilPage.Context.SetOfflineAsync(true);
        await Expect(pupilPage.Locator("#status")).ToContainTextAsync("Нет сети");
        await CancelPlanAsync(teacherPage, "Химия");
        await Expect(teacherPage.Locator(".plans .plan")).ToHaveCountAsync(1);

        // Back online, the page asks the server for its reminders; while the answer is on its way the other lesson's
        // reminder comes.
        var catchUp = gate.Hold("GetCallReminders");
        await pupilPage.Context.SetOfflineAsync(false);
        var answer = await catchUp.WaitAsync(TimeSpan.FromSeconds(15));
        await StartSoonAsync(chatId, "Биология");
        var biology = pupilPage.Locator(".toast.call-reminder", new() { HasText = "Биология" });
        await Expect(biology).ToContainTextAsync("Через 1 минуту: Биология");
        await Expect(chemistry).ToHaveCountAsync(1);

        // The answer (asked before the second reminder went out, so without it) drops the cancelled lesson's reminder
        // and keeps the one that came after it was asked.
        gate.Release(answer);
        await Expect(chemistry).ToHaveCountAsync(0);
        await Expect(biology).ToHaveCountAsync(1);
        await Expect(ChatItem(pupilPage, "7Г").Locator(".badge.call-soon")).ToHaveTextAsync("звонок скоро");
    }

    [Fact]
    public async Task PlanCancelledWhileThePagesAreOnline_ItsReminderGoes_Toast_Mark_AndTheOpenChatsBanner()
    {
        var school = await Scene.SchoolAsync("Школа №38");
        var classId = await school.ClassAsync("5Б");
        var teacher = await school.TeacherAsync("Светлана Юрьевна", classTeacherOf: classId);
        var vera = await school.PupilAsync("Вера Лаптева", classId);
        var gleb = await school.PupilAsync("Глеб Смирнов", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "5Б");

        // One pupil has no chat open (a toast and a mark in the list), the other has the class chat open (a banner).
        var veraPage = await PageAsync(Desktop);
        await SignInAsync(veraPage, vera.Phone);
        var classChat = ChatItem(veraPage, "5Б");
        await Expect(classChat).ToBeVisibleAsync();
        var glebPage = await PageAsync(Phone);
        await SignInAsync(glebPage, gleb.Phone);
        await OpenChatAsync(glebPage, "5Б");

        // The teacher plans a lesson; its start is moved to 50 seconds from now (the test server reminds a minute
        // ahead), so the "soon" reminder goes out at once.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "5Б");
        await ScheduleAsync(teacherPage, "Музыка", InHalfAnHour());
        await StartSoonAsync(chatId, "Музыка");
        var toast = veraPage.Locator(".toast.call-reminder");
        await Expect(toast).ToContainTextAsync("Через 1 минуту: Музыка");
        await Expect(classChat.Locator(".badge.call-soon")).ToHaveTextAsync("звонок скоро");
        var banner = glebPage.Locator(".banner.call-reminder");
        await Expect(banner).ToContainTextAsync("Через 1 минуту: Музыка");
        await Expect(glebPage.Locator(".plans .plan", new() { HasText = "Музыка" })).ToHaveCountAsync(1);
        var teacherBanner = teacherPage.Locator(".banner.call-reminder");
        await Expect(teacherBanner).ToContainTextAsync("Через 1 минуту: Музыка");

        // The teacher cancels it: on every page still online its reminder goes with it (CallScheduled, cancelled).
        await CancelPlanAsync(teacherPage, "Музыка");
        await Expect(glebPage.Locator(".plans .plan", new() { HasText = "Музыка" })).ToHaveCountAsync(0);
        await Expect(banner).ToHaveCountAsync(0);
        await Expect(toast).ToHaveCountAsync(0);
        await Expect(classChat.Locator(".badge.call-soon")).ToHaveCountAsync(0);
        await Expect(teacherBanner).ToHaveCountAsync(0);
        await Expect(ChatItem(teacherPage, "5Б").Locator(".badge.call-soon")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task CatchUpAskedBeforeAPlanWasCancelled_AnsweredAfter_DoesNotBringItsReminderBack()
    {
        var school = await Scene.SchoolAsync("Школа №38");
        var classId = await school.ClassAsync("5В");
        var teacher = await school.TeacherAsync("Зоя Павловна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Яна Белкина", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "5В");

        var pupilPage = await PageAsync(Desktop);
        var gate = await HubGate.RouteAsync(pupilPage);
        await SignInAsync(pupilPage, pupil.Phone);
        await Expect(ChatItem(pupilPage, "5В")).ToBeVisibleAsync();

        // Two lessons planned; the first one's reminder reaches the pupil's page, the second one's goes out while the
        // page is offline (the teacher's open chat shows it).
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "5В");
        var later = InHalfAnHour();
        await ScheduleAsync(teacherPage, "Рисование", later);
        await ScheduleAsync(teacherPage, "Труд", later);
        await StartSoonAsync(chatId, "Рисование");
        var drawing = pupilPage.Locator(".toast.call-reminder", new() { HasText = "Рисование" });
        await Expect(drawing).ToContainTextAsync("Через 1 минуту: Рисование");
        await pupilPage.Context.SetOfflineAsync(true);
        await Expect(pupilPage.Locator("#status")).ToContainTextAsync("Нет сети");
        await StartSoonAsync(chatId, "Труд");
        await Expect(teacherPage.Locator(".banner.call-reminder", new() { HasText = "Труд" })).ToHaveCountAsync(1);

        // Back online, the page asks for the reminders it missed; the answer (both lessons) is held on the way while
        // the teacher cancels the first lesson, whose CallScheduled reaches the page first: the toast goes.
        var catchUp = gate.Hold("GetCallReminders");
        await pupilPage.Context.SetOfflineAsync(false);
        var answer = await catchUp.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Contains("Рисование", answer, StringComparison.Ordinal);
        var cancelled = gate.Pushed("CallScheduled");
        await CancelPlanAsync(teacherPage, "Рисование");
        await cancelled.WaitAsync(TimeSpan.FromSeconds(15));
        await Expect(drawing).ToHaveCountAsync(0);

        // The answer comes: the missed reminder shows, the cancelled lesson's does not come back.
        gate.Release(answer);
        await Expect(pupilPage.Locator(".toast.call-reminder", new() { HasText = "Труд" })).ToContainTextAsync("Через 1 минуту: Труд");
        await Expect(drawing).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task OpenChatsAnswerOverTakenByAPush_ALessonEndedMeanwhileIsNotPutBack_OneStartedMeanwhileStays()
    {
        var school = await Scene.SchoolAsync("Школа №39");
        var classId = await school.ClassAsync("6Д");
        var teacher = await school.TeacherAsync("Тамара Ильинична", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Федя Носов", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "6Д");
        // A lesson planned for tomorrow: the open chat lists it once its GetChatCall and GetScheduledCalls are answered.
        await App.ExecuteSqlAsync(
            "INSERT INTO call_plans (id, chat_id, host_id, kind, title, starts_at) VALUES (@id, @chatId, @host, 'lesson', 'Чтение', now() + interval '1 day')",
            new { id = Guid.NewGuid(), chatId, host = teacher.Id });

        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "6Д");
        async Task<IPage> StartLessonAsync()
        {
            var host = await teacherPage.RunAndWaitForPopupAsync(() => teacherPage.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
            await Expect(host.Locator("#participants")).ToContainTextAsync("(вы)");
            return host;
        }

        // A lesson started before the pupil's page opened: only the chat list tells the page of it.
        var lesson = await StartLessonAsync();
        var pupilPage = await PageAsync(Desktop);
        var gate = await HubGate.RouteAsync(pupilPage);
        await SignInAsync(pupilPage, pupil.Phone);
        var classChat = ChatItem(pupilPage, "6Д");
        await Expect(classChat).ToContainTextAsync("● идёт урок");

        // The pupil opens the chat; its GetChatCall, which names the lesson, is held on the way. The lesson ends, and
        // CallEnded reaches the page before that answer: the answer does not bring the ended lesson back.
        var answer = gate.Hold("GetChatCall");
        await OpenChatAsync(pupilPage, "6Д");
        var named = await answer.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Contains(await lesson.EvaluateAsync<string>("() => window.callState.callId"), named, StringComparison.Ordinal);
        var ended = gate.Pushed("CallEnded");
        await EndCallForAllAsync(lesson);
        await ended.WaitAsync(TimeSpan.FromSeconds(15));
        gate.Release(named);
        var plans = pupilPage.Locator(".plans .plan", new() { HasText = "Чтение" });
        await Expect(plans).ToHaveCountAsync(1); // the chat's calls are read
        await Expect(pupilPage.Locator(".call-banner")).ToHaveCountAsync(0);
        await Expect(classChat).Not.ToContainTextAsync("идёт");

        // The chat opened again, its GetChatCall (no call) held; a lesson starts and CallStarted reaches the page
        // before that answer: the answer does not take the lesson away.
        await OpenChatAsync(pupilPage, "Общешкольный канал");
        answer = gate.Hold("GetChatCall");
        await OpenChatAsync(pupilPage, "6Д");
        var none = await answer.WaitAsync(TimeSpan.FromSeconds(15));
        var started = gate.Pushed("CallStarted");
        lesson = await StartLessonAsync();
        await started.WaitAsync(TimeSpan.FromSeconds(15));
        await Expect(pupilPage.Locator(".call-banner")).ToContainTextAsync("Идёт урок");
        gate.Release(none);
        await Expect(plans).ToHaveCountAsync(1);
        await Expect(pupilPage.Locator(".call-banner")).ToContainTextAsync("Идёт урок");
        await Expect(classChat).ToContainTextAsync("● идёт урок");
    }

    /// <summary>
    /// Between a page and the hub (every connection of the page): <see cref="Hold"/> keeps back the server's answer to
    /// the page's next invocation of a method until the test passes it on (<see cref="Release"/>); <see cref="Pushed"/>
    /// completes once a push of the server has been passed on to the page, so that what the test sends after it
    /// reaches the page after it.
    /// </summary>
    private sealed class HubGate
    {
        private readonly Lock gate = new();
        private IWebSocketRoute? route;
        private string? holdMethod;
        private string? holdId;
        private TaskCompletionSource<string>? held;
        private string? pushTarget;
        private TaskCompletionSource? pushed;

        public static async Task<HubGate> RouteAsync(IPage page)
        {
            var gate = new HubGate();
            await page.RouteWebSocketAsync(new Regex("/hubs/chat"), gate.Connect);
            return gate;
        }

        /// <summary>Holds the answer to the page's next invocation of <paramref name="method"/>; completes with that answer (a SignalR record).</summary>
        public Task<string> Hold(string method)
        {
            lock (gate)
            {
                holdMethod = method;
                holdId = null;
                held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                return held.Task;
            }
        }

        /// <summary>Completes once the server's next push of <paramref name="target"/> has been passed on to the page.</summary>
        public Task Pushed(string target)
        {
            lock (gate)
            {
                pushTarget = target;
                pushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return pushed.Task;
            }
        }

        /// <summary>Passes a held answer on to the page (over its current connection).</summary>
        public void Release(string answer) => route!.Send(answer);

        private void Connect(IWebSocketRoute ws)
        {
            route = ws;
            var server = ws.ConnectToServer();
            ws.OnMessage(f =>
            {
                if (f.Text is not { } t)
                {
                    server.Send(f.Binary!);
                    return;
                }

                lock (gate)
                {
                    if (holdMethod is not null && Records(t).FirstOrDefault(r => Is(r, "target", holdMethod)) is { ValueKind: JsonValueKind.Object } ask)
                    {
                        holdId = ask.GetProperty("invocationId").GetString();
                        holdMethod = null;
                    }
                }

                server.Send(t);
            });
            server.OnMessage(f =>
            {
                if (f.Text is not { } t)
                {
                    ws.Send(f.Binary!);
                    return;
                }

                var records = Records(t);
                lock (gate)
                {
                    bool IsHeld(JsonElement r) => holdId is not null && r.TryGetProperty("type", out var type) && type.GetInt32() == 3 && Is(r, "invocationId", holdId);
                    var rest = records.Where(r => !IsHeld(r)).ToList();
                    if (rest.Count > 0)
                    {
                        ws.Send(string.Concat(rest.Select(r => r.GetRawText() + "\u001e")));
                    }

                    if (records.FirstOrDefault(IsHeld) is { ValueKind: JsonValueKind.Object } answer)
                    {
                        holdId = null;
                        held!.TrySetResult(answer.GetRawText() + "\u001e");
                    }

                    if (pushTarget is not null && rest.Any(r => Is(r, "target", pushTarget)))
                    {
                        pushTarget = null;
                        pushed!.TrySetResult();
                    }
                }
            });
        }
    }

    [Fact]
    public async Task Admin_StartsBroadcast_InSchoolChannel_PupilSeesLiveBanner_JoinsAsViewer()
    {
        var school = await Scene.SchoolAsync("Школа №33");
        var classId = await school.ClassAsync("8А");
        var pupil = await school.PupilAsync("Вера Павлова", classId);

        var admin = await PageAsync(Desktop);
        await SignInAsync(admin, school.Admin.Phone);
        await OpenChatAsync(admin, "Общешкольный канал");
        var viewer = await PageAsync(Phone);
        await SignInAsync(viewer, pupil.Phone);
        await OpenChatAsync(viewer, "Общешкольный канал");
        // A pupil may not start one; a class chat has lessons, not broadcasts.
        await Expect(viewer.GetByRole(AriaRole.Link, new() { Name = "Начать трансляцию" })).ToHaveCountAsync(0);

        var host = await admin.RunAndWaitForPopupAsync(() => admin.GetByRole(AriaRole.Link, new() { Name = "Начать трансляцию" }).ClickAsync());
        await Expect(host.Locator("#title")).ToHaveTextAsync("Трансляция");
        await Expect(host.Locator("#participants")).ToContainTextAsync("(вы)");
        await Expect(host.Locator("#viewers")).ToHaveTextAsync("Зрителей: 0");

        var banner = viewer.Locator(".call-banner");
        await Expect(banner).ToContainTextAsync("Идёт трансляция · зрителей: 0");
        var watch = await viewer.RunAndWaitForPopupAsync(() => banner.GetByRole(AriaRole.Link, new() { Name = "Присоединиться" }).ClickAsync());
        await Expect(watch.Locator("#title")).ToHaveTextAsync("Трансляция");
        await Expect(watch.Locator("#viewers")).ToHaveTextAsync("Зрителей: 1");
        await Expect(host.Locator("#viewers")).ToHaveTextAsync("Зрителей: 1");
        await Expect(banner).ToContainTextAsync("зрителей: 1");
        // A viewer is not a participant: the host's list has the host only, and the viewer has no hand to raise.
        await Expect(host.Locator("#participants li")).ToHaveCountAsync(1);
        await Expect(watch.Locator("#hand")).ToBeHiddenAsync();
        await Screenshot(watch, "broadcast-viewer-phone");
        await Screenshot(viewer, "broadcast-banner-phone");

        await EndCallForAllAsync(host);
        await Expect(watch.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        await Expect(banner).ToHaveCountAsync(0);
        await Expect(admin.GetByRole(AriaRole.Link, new() { Name = "Начать трансляцию" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task CallPageForm_PressedTwice_OneConnection_LeaveAndJoinAgain_OldConnectionClosed()
    {
        var school = await Scene.SchoolAsync("Школа №33");
        var classId = await school.ClassAsync("9А");
        var teacher = await school.TeacherAsync("Вера Павловна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "9А");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await Expect(ChatItem(page, "9А")).ToBeVisibleAsync(); // signed in: the session is stored for the call page
        var sockets = new List<IWebSocket>();
        page.WebSocket += (_, ws) => { if (ws.Url.Contains("/hubs/chat", StringComparison.Ordinal)) lock (sockets) sockets.Add(ws); };
        await page.GotoAsync($"{App.BaseUrl}/call.html#chat={chatId}&lesson=1");
        // The form holds no copy of her token (it would be stale when pressed, and is no one's to see): «Войти» uses
        // the session, read at the connect; the tools' fields are hidden.
        await Expect(page.Locator("#token")).ToBeHiddenAsync();
        Assert.Equal("", await page.InputValueAsync("#token"));
        await Expect(page.Locator("#relay")).ToBeHiddenAsync();

        // «Войти» twice before the first has joined: one connection, one participant.
        await page.EvaluateAsync("() => { const form = document.getElementById('join'); form.requestSubmit(); form.requestSubmit(); }");
        await Expect(page.Locator("#status")).ToContainTextAsync("без видео и звука"); // headless: no camera
        await Expect(page.Locator("#participants li")).ToHaveCountAsync(1);
        await Task.Delay(500);
        lock (sockets)
        {
            Assert.Single(sockets);
        }

        // She leaves and joins again from the form: the new connection replaces the old one, which is closed.
        await page.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("Вы вышли из звонка.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Войти" }).ClickAsync();
        await Expect(page.Locator("#participants li", new() { HasText = "Вера Павловна (вы)" })).ToHaveCountAsync(1);
        await Expect(page.Locator("#participants li")).ToHaveCountAsync(1);
        IWebSocket first;
        lock (sockets)
        {
            Assert.Equal(2, sockets.Count);
            first = sockets[0];
        }

        await page.WaitForFunctionAsync("() => window.callState.hub.state === 'Connected'");
        Assert.True(first.IsClosed, "the first call's connection is still open");
    }

    /// <summary>Renews the call page's session as if its access token were about to expire (the page's clock an hour on).</summary>
    private const string LessonTabRefresh = """
        async () => {
          const now = Date.now;
          Date.now = () => now() + 3_600_000;
          try { return await sessionToken(); } finally { Date.now = now; }
        }
        """;

    /// <summary>The chat tab's refresh (js/api.js, the same module instance the page uses).</summary>
    private const string ChatTabRefresh = "async () => (await import('/js/api.js')).refreshTokens()";

    /// <summary>
    /// A class teacher signed in on a desktop page with CLASS's chat open, who starts a lesson from it: the chat tab and
    /// the lesson tab (a popup opened with noopener). beforeLesson runs on the chat tab just before the lesson opens.
    /// </summary>
    private async Task<(IPage Chat, IPage Lesson)> ChatAndLessonTabsAsync(string schoolName, string className, string teacherName, Func<IPage, Task>? beforeLesson = null)
    {
        var school = await Scene.SchoolAsync(schoolName);
        var classId = await school.ClassAsync(className);
        var teacher = await school.TeacherAsync(teacherName, classTeacherOf: classId);

        var chat = await PageAsync(Desktop);
        await SignInAsync(chat, teacher.Phone);
        await OpenChatAsync(chat, className);
        if (beforeLesson is not null)
        {
            await beforeLesson(chat);
        }

        var lesson = await chat.RunAndWaitForPopupAsync(() => chat.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(lesson.Locator("#status")).ToContainTextAsync("без видео и звука"); // headless: no camera
        return (chat, lesson);
    }

    /// <summary>The newest pair (the one the chat tab has stored) works: the session was not revoked. Returns its access token.</summary>
    private async Task<string> StoredTokenWorksAsync(IPage chat)
    {
        var stored = await chat.EvaluateAsync<string?>("() => JSON.parse(localStorage.getItem('chat.tokens'))?.accessToken ?? null");
        Assert.True(stored is not null, "the tabs were signed out");
        using var http = App.Http(stored);
        var sessions = await http.GetAsync("/api/me/sessions");
        Assert.True(sessions.IsSuccessStatusCode, $"the session was revoked: {(int)sessions.StatusCode}");
        return stored;
    }

    [Fact]
    public async Task ChatTabAndLessonTab_RenewTheSignIn_AtOnceAndOneAfterTheOther_SessionStaysLive()
    {
        IWebSocketRoute? lessonSocket = null; // the lesson tab's hub connection (the chat tab's is older than the route)
        var (chat, lesson) = await ChatAndLessonTabsAsync("Школа №35", "10Б", "Нина Андреевна", chat => chat.Context.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            lessonSocket = ws;
            ws.ConnectToServer();
        }));

        // Both tabs renew the sign-in at the same moment (a network change, the token's expiry): one refresh token
        // between them, and the server revokes the whole session when a spent one comes back.
        var renewed = await Task.WhenAll(chat.EvaluateAsync<string>($"async () => String(await ({ChatTabRefresh})())"), lesson.EvaluateAsync<string>(LessonTabRefresh));
        Assert.Equal("true", renewed[0]);
        Assert.NotEqual("", renewed[1]);
        await StoredTokenWorksAsync(chat);

        // Then one after the other: the lesson tab renews first, the chat tab still holds the pair it had.
        Assert.NotEqual("", await lesson.EvaluateAsync<string>(LessonTabRefresh));
        Assert.True(await chat.EvaluateAsync<bool>(ChatTabRefresh));
        var stored = await StoredTokenWorksAsync(chat);
        Assert.Equal(stored, await chat.EvaluateAsync<string>("async () => (await import('/js/api.js')).session.accessToken"));
        await Task.Delay(1000); // a revoked session would push SessionEnded to both tabs by now
        await Expect(chat.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToHaveCountAsync(0);
        await SendAsync(chat, "Урок идёт");
        await Expect(MessageCard(chat, "Урок идёт")).ToHaveCountAsync(1);

        // The lesson tab keeps its hub: after a break it connects again with the session and rejoins.
        await Expect(lesson.Locator("#status")).ToContainTextAsync("без видео и звука");
        await lessonSocket!.CloseAsync();
        await Expect(lesson.Locator("#status")).ToHaveTextAsync("Вы на уроке.", new() { Timeout = 20_000 });
        await Expect(lesson.Locator("#participants li", new() { HasText = "Нина Андреевна (вы)" })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task LessonTabsCopyOfTheSignIn_LagsBehindTheChatTabsRenewal_TheLessonTabTakesTheRenewal_SessionStaysLive()
    {
        var (chat, lesson) = await ChatAndLessonTabsAsync("Школа №37", "10Г", "Лидия Сергеевна");

        // The lesson tab runs in another renderer process, whose cached localStorage learns of the chat tab's writes a
        // moment later; under load, later than the lock between the tabs is let go. Here that moment never ends: the
        // lesson tab keeps reading the pair as it was before the chat tab renewed it.
        await lesson.EvaluateAsync("""
            () => {
              const stale = localStorage.getItem('chat.tokens');
              const getItem = Storage.prototype.getItem;
              Storage.prototype.getItem = function (key) { return key === 'chat.tokens' ? stale : getItem.call(this, key); };
            }
            """);
        Assert.True(await chat.EvaluateAsync<bool>(ChatTabRefresh));
        var renewedByChat = await StoredTokenWorksAsync(chat);

        // The lesson tab renews with what its copy says (the token the chat tab has spent): it takes the chat tab's
        // renewal instead of spending that token again, which would have ended the session on the server.
        Assert.Equal(renewedByChat, await lesson.EvaluateAsync<string>(LessonTabRefresh));
        Assert.Equal(renewedByChat, await StoredTokenWorksAsync(chat));
    }

    [Fact]
    public async Task LessonPage_HubBreaksAgainRightAfterItsJoinCall_OrTheServerIsBusy_StaysInTheLesson_LeavesOnlyWhenRemoved()
    {
        var school = await Scene.SchoolAsync("Школа №36");
        var classId = await school.ClassAsync("10В");
        var teacher = await school.TeacherAsync("Марина Олеговна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "10В");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await Expect(ChatItem(page, "10В")).ToBeVisibleAsync(); // signed in: the session is stored for the call page
        IWebSocketRoute? hubSocket = null;
        var joinCalls = 0; // rejoins (RejoinCall) the page sent
        // What happens to the page's next rejoin: "drop" (the socket breaks), or the route answers it with a refusal
        // ("busy": service_unavailable, "removed": removed_from_call).
        string? onJoin = null;
        static string Refusal(string code, string text) =>
            "An unexpected error occurred invoking 'RejoinCall' on the server. HubException: " + code + ": " + text;
        await page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            hubSocket = ws;
            var server = ws.ConnectToServer();
            ws.OnMessage(frame =>
            {
                var text = frame.Text;
                if (text is not null && text.Contains("\"target\":\"RejoinCall\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref joinCalls);
                    var id = Regex.Match(text, "\"invocationId\":\"([^\"]+)\"").Groups[1].Value;
                    var answer = Interlocked.Exchange(ref onJoin, null) switch
                    {
                        "drop" => "",
                        "busy" => Refusal("service_unavailable", "Сервис временно недоступен. Повторите попытку через несколько секунд."),
                        "removed" => Refusal("removed_from_call", "Ведущий удалил вас из этого звонка."),
                        _ => null,
                    };
                    if (answer == "")
                    {
                        _ = ws.CloseAsync();
                        return;
                    }

                    if (answer is not null)
                    {
                        ws.Send(System.Text.Json.JsonSerializer.Serialize(new { type = 3, invocationId = id, error = answer }) + "\u001e");
                        return;
                    }
                }

                if (text is not null)
                {
                    server.Send(text);
                }
                else if (frame.Binary is { } binary)
                {
                    server.Send(binary);
                }
            });
        });
        await page.GotoAsync($"{App.BaseUrl}/call.html#chat={chatId}&lesson=1&autostart=1");
        var status = page.Locator("#status");
        await Expect(status).ToContainTextAsync("без видео и звука"); // headless: no camera
        var callId = await page.EvaluateAsync<string>("() => window.callState.callId");
        const string inTheCall = "async () => (await window.callState.hub.invoke('GetCall', window.callState.callId)).participants.some(p => p.accountId === window.callState.me)";

        // The hub breaks; the page reconnects and sends JoinCall, and the connection breaks again right then (a flapping
        // network). The page keeps the call, says so in Russian and rejoins on the next reconnect.
        onJoin = "drop";
        await hubSocket!.CloseAsync();
        await Expect(status).ToHaveTextAsync("Нет связи с сервером, подключаемся снова…");
        await Expect(status).ToHaveTextAsync("Вы на уроке.", new() { Timeout = 30_000 });
        Assert.Null(onJoin);
        Assert.Equal(2, joinCalls);
        Assert.Equal(callId, await page.EvaluateAsync<string>("() => window.callState.callId"));
        Assert.True(await page.EvaluateAsync<bool>(inTheCall));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Выйти" })).ToBeEnabledAsync();
        await Expect(page.Locator("#participants li", new() { HasText = "Марина Олеговна (вы)" })).ToHaveCountAsync(1);

        // The server answers the rejoin with service_unavailable (its database away for a moment): the page stays
        // connected and in the call, and asks again shortly.
        onJoin = "busy";
        await hubSocket!.CloseAsync();
        await Expect(status).ToHaveTextAsync("Нет связи с сервером, подключаемся снова…");
        await Expect(status).ToHaveTextAsync("Вы на уроке.", new() { Timeout = 30_000 });
        Assert.Null(onJoin);
        Assert.Equal(4, joinCalls);
        Assert.True(await page.EvaluateAsync<bool>(inTheCall));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Выйти" })).ToBeEnabledAsync();

        // A refusal that means «you are out» still ends the call on the page, in the server's words.
        onJoin = "removed";
        await hubSocket!.CloseAsync();
        await Expect(status).ToHaveTextAsync("Не удалось вернуться в звонок: Ведущий удалил вас из этого звонка.", new() { Timeout = 30_000 });
        Assert.Equal(5, joinCalls);
        Assert.True(await page.EvaluateAsync<bool>("() => window.callState.callId === null"));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Выйти" })).ToBeDisabledAsync();
    }

    [Fact]
    public async Task Host_OpensWaitingRoom_OnCallPage_ColleagueOutsideTheChatKnocks_IsAdmitted_ThenRemoved_HostLeaves()
    {
        var school = await Scene.SchoolAsync("Школа №34");
        var classId = await school.ClassAsync("9Б");
        var teacher = await school.TeacherAsync("Ольга Петровна", classTeacherOf: classId);
        var psychologist = await school.TeacherAsync("Игорь Психолог");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "9Б");
        var host = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(host.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        var room = host.GetByRole(AriaRole.Button, new() { Name = "Открыть зал ожидания" });
        await room.FocusAsync();
        await host.Keyboard.PressAsync("Enter");
        var close = host.GetByRole(AriaRole.Button, new() { Name = "Закрыть зал ожидания" });
        await Expect(close).ToHaveAttributeAsync("aria-pressed", "true");
        var callId = await host.EvaluateAsync<string>("() => state.callId");

        // The psychologist is of the school but not of 9Б: he knocks and waits until the teacher lets him in.
        var guest = await PageAsync(Desktop);
        await SignInAsync(guest, psychologist.Phone);
        await Expect(ChatItem(guest, "Общешкольный канал")).ToBeVisibleAsync();
        IWebSocketRoute? hubSocket = null; // the call page's hub connection, passed through so that the test can break it
        await guest.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            hubSocket = ws;
            ws.ConnectToServer();
        });
        await guest.GotoAsync($"{App.BaseUrl}/call.html#call={callId}&autostart=1");
        await Expect(guest.Locator("#status")).ToHaveTextAsync("Ждём, когда ведущий впустит вас…");
        var waiting = host.GetByRole(AriaRole.List, new() { Name = "Зал ожидания" }).Locator("li");
        await Expect(waiting).ToContainTextAsync("Игорь Психолог");
        await Screenshot(host, "call-waiting-room-desktop");

        // The teacher opens the call in another tab too: the guest who knocked before it came is listed there as well.
        var second = await host.Context.NewPageAsync();
        await second.GotoAsync($"{App.BaseUrl}/call.html#call={callId}&autostart=1");
        await Expect(second.GetByRole(AriaRole.List, new() { Name = "Зал ожидания" }).Locator("li")).ToContainTextAsync("Игорь Психолог");
        // The second tab has the call now (one active page per person): the first says so and offers it back.
        await Expect(host.Locator("#status")).ToHaveTextAsync("Вы подключились к звонку в другой вкладке или на другом устройстве.");
        // The first tab is reloaded (its address autostarts into the call): it is the same page rejoining, which does not
        // take the call from the second tab (before, the reload was a new page and silently took the call back).
        await host.ReloadAsync();
        await Expect(host.GetByRole(AriaRole.Button, new() { Name = "Продолжить здесь" })).ToBeVisibleAsync();
        await Expect(host.Locator("#status")).ToHaveTextAsync("Вы подключились к звонку в другой вкладке или на другом устройстве.");
        await Expect(second.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        await second.CloseAsync();
        // «Продолжить здесь» with the server out of reach: it says so, and the button is there to try again.
        var unreachable = true;
        await host.RouteAsync("**/hubs/chat/negotiate**", r => unreachable ? r.AbortAsync() : r.ContinueAsync());
        var continueHere = host.GetByRole(AriaRole.Button, new() { Name = "Продолжить здесь" });
        await continueHere.ClickAsync();
        await Expect(host.Locator("#status")).ToHaveTextAsync("Нет связи с сервером.");
        await Expect(continueHere).ToBeVisibleAsync();
        await Expect(continueHere).ToBeEnabledAsync();
        unreachable = false;
        await host.GetByRole(AriaRole.Button, new() { Name = "Продолжить здесь" }).ClickAsync();
        await Expect(host.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        await waiting.GetByRole(AriaRole.Button, new() { Name = "Впустить" }).ClickAsync();
        // A guest may not read the chat's members: his page names the people in the call by GetCallNames.
        await Expect(guest.Locator("#participants li")).ToHaveCountAsync(2);
        await Expect(guest.Locator("#participants li", new() { HasText = "Игорь Психолог (вы)" })).ToHaveCountAsync(1);
        await Expect(guest.Locator("#participants li", new() { HasText = "Ольга Петровна" })).ToContainTextAsync("ведущий");
        await Expect(host.Locator("#participants li", new() { HasText = "Игорь Психолог" })).ToHaveCountAsync(1);

        await close.ClickAsync();
        await Expect(host.GetByRole(AriaRole.Button, new() { Name = "Открыть зал ожидания" })).ToHaveAttributeAsync("aria-pressed", "false");

        // His connection to the server breaks: the page says so and reconnects, and rejoins the same call.
        await hubSocket!.CloseAsync();
        await Expect(guest.Locator("#status")).ToHaveTextAsync("Нет связи с сервером, подключаемся снова…");
        await Expect(guest.Locator("#status")).ToHaveTextAsync("Вы на уроке.", new() { Timeout = 20_000 });
        await Expect(guest.Locator("#participants li")).ToHaveCountAsync(2);

        // The teacher removes him: his page lets go of the call (no controls, no list) and says why.
        await host.Locator("#participants li", new() { HasText = "Игорь Психолог" }).GetByRole(AriaRole.Button, new() { Name = "Удалить из звонка" }).ClickAsync();
        // Asked first, in the page's dialog: removal lasts as long as the call.
        var sure = host.GetByRole(AriaRole.Dialog, new() { Name = "Удалить из звонка: Игорь Психолог?" });
        await Expect(sure).ToContainTextAsync("не сможет вернуться");
        await sure.GetByRole(AriaRole.Button, new() { Name = "Удалить" }).ClickAsync();
        await Expect(guest.Locator("#status")).ToHaveTextAsync("Вы больше не в звонке: ведущий удалил вас или вы вышли на другом устройстве.");
        await Expect(guest.Locator("#participants li")).ToHaveCountAsync(0);
        await Expect(guest.GetByRole(AriaRole.Button, new() { Name = "Выйти" })).ToBeDisabledAsync();
        Assert.True(await guest.EvaluateAsync<bool>("() => window.callState.callId === null && window.callState.local === null"));
        await Expect(host.Locator("#participants li")).ToHaveCountAsync(1);

        // The teacher leaves with «Выйти»: her page lets go too, and nothing of the call comes back to it.
        await host.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(host.Locator("#status")).ToHaveTextAsync("Вы вышли из звонка.");
        await Expect(host.Locator("#participants li")).ToHaveCountAsync(0);
        Assert.True(await host.EvaluateAsync<bool>("() => window.callState.callId === null && window.callState.local === null"));
        await Expect(host.Locator("#host")).ToBeHiddenAsync();
    }

    /// <summary>
    /// The teacher's second tab took the lesson, and ends it there: the first tab, which offered «Продолжить здесь», says
    /// the call has ended and offers nothing more (before, the button stayed, and each press answered that the call was
    /// not found, the button back again every time).
    /// </summary>
    [Fact]
    public async Task SecondTabTookTheLessonAndEndsIt_TheFirstSaysItEnded_NoWayBackOffered()
    {
        var school = await Scene.SchoolAsync("Школа №62");
        var classId = await school.ClassAsync("7Ж");
        var teacher = await school.TeacherAsync("Алла Борисовна", classTeacherOf: classId);
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "7Ж");
        var first = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(first.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        var callId = await first.EvaluateAsync<string>("() => state.callId");

        var second = await first.Context.NewPageAsync();
        await second.GotoAsync($"{App.BaseUrl}/call.html#call={callId}&autostart=1");
        await Expect(second.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        var continueHere = first.GetByRole(AriaRole.Button, new() { Name = "Продолжить здесь" });
        await Expect(continueHere).ToBeVisibleAsync();

        await second.GetByRole(AriaRole.Button, new() { Name = "Завершить звонок" }).ClickAsync();
        await second.GetByRole(AriaRole.Dialog, new() { Name = "Завершить звонок для всех?" }).GetByRole(AriaRole.Button, new() { Name = "Завершить" }).ClickAsync();
        await Expect(first.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        await Expect(continueHere).ToBeHiddenAsync();
    }

    [Fact]
    public async Task WaitingRoom_GuestIsToldWhenTheRoomClosesOrTheLessonEnds_AndADecisionMissedOfflineIsLearnedOnReconnect()
    {
        var school = await Scene.SchoolAsync("Школа №35");
        var classId = await school.ClassAsync("8А");
        var teacher = await school.TeacherAsync("Анна Сергеевна", classTeacherOf: classId);
        var psychologist = await school.TeacherAsync("Игорь Психолог");
        var librarian = await school.TeacherAsync("Вера Библиотекарь");
        var deputy = await school.TeacherAsync("Пётр Завуч");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "8А");
        var host = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(host.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        await host.GetByRole(AriaRole.Button, new() { Name = "Открыть зал ожидания" }).ClickAsync();
        var close = host.GetByRole(AriaRole.Button, new() { Name = "Закрыть зал ожидания" });
        await Expect(close).ToHaveAttributeAsync("aria-pressed", "true");
        var callId = await host.EvaluateAsync<string>("() => state.callId");
        var waiting = host.GetByRole(AriaRole.List, new() { Name = "Зал ожидания" }).Locator("li");

        async Task<IPage> KnockAsync(string phone, string name, Func<IPage, Task>? prepare = null)
        {
            var guest = await PageAsync(Desktop);
            await SignInAsync(guest, phone);
            await Expect(ChatItem(guest, "Общешкольный канал")).ToBeVisibleAsync();
            if (prepare is not null)
            {
                await prepare(guest);
            }

            await guest.GotoAsync($"{App.BaseUrl}/call.html#call={callId}&autostart=1");
            await Expect(guest.Locator("#status")).ToHaveTextAsync("Ждём, когда ведущий впустит вас…");
            await Expect(waiting.Filter(new() { HasText = name })).ToHaveCountAsync(1);
            return guest;
        }

        // The psychologist's connection is down while the teacher lets him in: the push is lost, and asking again after
        // the reconnect lets him in (he used to wait for good).
        var offline = false;
        IWebSocketRoute? hubSocket = null;
        var psychologistPage = await KnockAsync(psychologist.Phone, "Игорь Психолог", async guest =>
        {
            await guest.RouteWebSocketAsync(new Regex("/hubs/chat"), async ws =>
            {
                if (offline)
                {
                    await ws.CloseAsync();
                    return;
                }

                hubSocket = ws;
                ws.ConnectToServer();
            });
            // Nor any other transport while "offline": the negotiation fails, so no push can reach the page meanwhile.
            await guest.RouteAsync(new Regex("/hubs/chat/negotiate"), route => offline ? route.AbortAsync() : route.ContinueAsync());
        });
        offline = true;
        await hubSocket!.CloseAsync();
        await waiting.Filter(new() { HasText = "Игорь Психолог" }).GetByRole(AriaRole.Button, new() { Name = "Впустить" }).ClickAsync();
        await Expect(host.Locator("#participants li", new() { HasText = "Игорь Психолог" })).ToHaveCountAsync(0);
        await Expect(psychologistPage.Locator("#status")).ToHaveTextAsync("Ждём, когда ведущий впустит вас…");
        offline = false;
        await Expect(psychologistPage.Locator("#status")).ToHaveTextAsync("Вы на уроке.", new() { Timeout = 30_000 });
        await Expect(host.Locator("#participants li", new() { HasText = "Игорь Психолог" })).ToHaveCountAsync(1);

        // The teacher closes the waiting room with the librarian still in it: she is told she was not let in.
        var librarianPage = await KnockAsync(librarian.Phone, "Вера Библиотекарь");
        await close.ClickAsync();
        await Expect(librarianPage.Locator("#status")).ToHaveTextAsync("Ведущий не впустил вас в этот звонок.");

        // The deputy waits when the lesson ends: he is told it is over instead of waiting for good.
        await host.GetByRole(AriaRole.Button, new() { Name = "Открыть зал ожидания" }).ClickAsync();
        var deputyPage = await KnockAsync(deputy.Phone, "Пётр Завуч");
        await EndCallForAllAsync(host);
        await Expect(deputyPage.Locator("#status")).ToHaveTextAsync("Звонок уже завершён.");
        await Expect(psychologistPage.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
    }

    [Fact]
    public async Task TeacherLeavesTheLesson_AColleagueInTheCallBecomesTheHost_ThePupilIsTold_TheTeacherTakesItBack()
    {
        var school = await Scene.SchoolAsync("Школа №36");
        var classId = await school.ClassAsync("6В");
        var teacher = await school.TeacherAsync("Нина Петровна", classTeacherOf: classId);
        var colleague = await school.TeacherAsync("Ольга Заменяющая");
        var pupil = await school.PupilAsync("Дима Волков", classId);
        await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "subject", title = "История 6В", classId, memberIds = new[] { pupil.Id, colleague.Id } }));

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "История 6В");
        var host = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        await Expect(host.Locator("#status")).ToHaveTextAsync(new Regex("Вы на уроке\\.|Камера"));
        var callId = await host.EvaluateAsync<string>("() => state.callId");
        async Task<IPage> JoinAsync(string phone)
        {
            var p = await PageAsync(Desktop);
            await SignInAsync(p, phone);
            await Expect(ChatItem(p, "История 6В")).ToBeVisibleAsync();
            await p.GotoAsync($"{App.BaseUrl}/call.html#call={callId}&autostart=1");
            await Expect(p.Locator("#participants li", new() { HasText = "(вы)" })).ToHaveCountAsync(1);
            return p;
        }

        var substitute = await JoinAsync(colleague.Phone);
        var pupilPage = await JoinAsync(pupil.Phone);
        var takeOver = substitute.GetByRole(AriaRole.Button, new() { Name = "Стать ведущим" });
        await Expect(takeOver).ToBeHiddenAsync(); // the host is there

        // The teacher leaves: the colleague may run the lesson, the pupil is not offered it.
        await host.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(substitute.Locator("#participants li")).ToHaveCountAsync(2);
        await Expect(takeOver).ToBeVisibleAsync();
        await Expect(pupilPage.GetByRole(AriaRole.Button, new() { Name = "Стать ведущим" })).ToBeHiddenAsync();
        await takeOver.ClickAsync();
        await Expect(substitute.Locator("#status")).ToHaveTextAsync("Теперь вы ведущий.");
        await Expect(takeOver).ToBeHiddenAsync();
        await Expect(substitute.GetByRole(AriaRole.Button, new() { Name = "Выключить микрофоны всем" })).ToBeVisibleAsync();
        await Expect(substitute.Locator("#participants li", new() { HasText = "Ольга Заменяющая (вы)" })).ToContainTextAsync("ведущий");
        await Expect(pupilPage.Locator("#status")).ToHaveTextAsync("Ведущий теперь — Ольга Заменяющая.");
        await Expect(pupilPage.Locator("#participants li", new() { HasText = "Ольга Заменяющая" })).ToContainTextAsync("ведущий");

        // The teacher is back: the lesson she started is hers to take back at once, the stand-in sees who runs it now.
        var back = await JoinAsync(teacher.Phone);
        var takeBack = back.GetByRole(AriaRole.Button, new() { Name = "Стать ведущим" });
        await Expect(takeBack).ToBeVisibleAsync();
        await takeBack.ClickAsync();
        await Expect(back.Locator("#status")).ToHaveTextAsync("Теперь вы ведущий.");
        await Expect(substitute.Locator("#status")).ToHaveTextAsync("Ведущий теперь — Нина Петровна.");
        await Expect(takeOver).ToBeHiddenAsync(); // the host is there again
        await Expect(substitute.GetByRole(AriaRole.Button, new() { Name = "Выключить микрофоны всем" })).ToBeHiddenAsync();
    }
}
