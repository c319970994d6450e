using Chat.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Polls, files, moderation, administration, mentions and direct chats in the browser.</summary>
[Collection(WebCollection.Name)]
public sealed class FeatureTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task SchoolSuspended_ThePupilsChatListSaysSo_InsteadOfShowingItsChats()
    {
        var school = await Scene.SchoolAsync("Школа №16");
        var classId = await school.ClassAsync("2В");
        var pupil = await school.PupilAsync("Вова Зайцев", classId);
        var op = await Scene.OperatorAsync();
        (await op.Http.PostAsync($"/api/platform/schools/{school.Id}/suspend", null)).EnsureSuccessStatusCode();

        var page = await PageAsync(Desktop);
        await SignInAsync(page, pupil.Phone);
        await Expect(page.GetByText("Работа школы приостановлена оператором платформы: её чаты недоступны.")).ToBeVisibleAsync();
        await Expect(ChatItem(page, "2В")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Poll_Anonymous_VoteRevoteRetract_LiveResults_Close()
    {
        var school = await Scene.SchoolAsync("Школа №15");
        var classId = await school.ClassAsync("6А");
        var teacher = await school.TeacherAsync("Ирина Сергеевна", classTeacherOf: classId);
        var anya = await school.PupilAsync("Аня Белова", classId);
        var boris = await school.PupilAsync("Борис Котов", classId);

        var (teacherPage, dialog) = await PollDialogAsync(teacher.Phone, "6А", "Когда контрольная?", "Во вторник", "В четверг", "В пятницу");
        await dialog.GetByLabel("Анонимный опрос").CheckAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Создать опрос" }).ClickAsync();
        var teacherPoll = teacherPage.GetByRole(AriaRole.Group, new() { Name = "Опрос: Когда контрольная?" });
        await Expect(teacherPoll).ToContainTextAsync("Анонимный опрос");

        var anyaPage = await PageAsync(Phone);
        await SignInAsync(anyaPage, anya.Phone);
        await OpenChatAsync(anyaPage, "6А");
        var anyaPoll = anyaPage.GetByRole(AriaRole.Group, new() { Name = "Опрос: Когда контрольная?" });
        await anyaPoll.GetByLabel("Во вторник").CheckAsync();
        await anyaPoll.GetByRole(AriaRole.Button, new() { Name = "Голосовать" }).ClickAsync();
        await Expect(anyaPoll).ToContainTextAsync("ваш голос учтён");
        await Expect(Option(teacherPoll, "Во вторник")).ToContainTextAsync("1 · 100%");

        // Changing the vote moves it; the teacher's results follow live.
        await anyaPoll.GetByLabel("В четверг").CheckAsync();
        await anyaPoll.GetByRole(AriaRole.Button, new() { Name = "Изменить голос" }).ClickAsync();
        await Expect(Option(teacherPoll, "В четверг")).ToContainTextAsync("1 · 100%");
        await Expect(Option(teacherPoll, "Во вторник")).ToContainTextAsync("0 · 0%");

        var borisPage = await PageAsync(Desktop);
        await SignInAsync(borisPage, boris.Phone);
        await OpenChatAsync(borisPage, "6А");
        var borisPoll = borisPage.GetByRole(AriaRole.Group, new() { Name = "Опрос: Когда контрольная?" });
        await borisPoll.GetByLabel("В пятницу").CheckAsync();
        await borisPoll.GetByRole(AriaRole.Button, new() { Name = "Голосовать" }).ClickAsync();
        await Expect(teacherPoll).ToContainTextAsync("Проголосовали: 2");
        await ScreenshotBoth(anyaPage, "poll");

        // Taking the vote back; then the teacher closes the poll and everyone sees it closed.
        await anyaPoll.GetByRole(AriaRole.Button, new() { Name = "Отозвать голос" }).ClickAsync();
        await Expect(teacherPoll).ToContainTextAsync("Проголосовали: 1");
        await teacherPoll.GetByRole(AriaRole.Button, new() { Name = "Завершить опрос" }).ClickAsync();
        await Expect(borisPoll).ToContainTextAsync("опрос завершён");
        await Expect(borisPoll.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);

        // Anonymous: nobody, the author included, gets the voters through the API.
        var chatId = await School.ChatIdAsync(teacher, school.Id, "6А");
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var poll = history.EnumerateArray().Single(m => m.GetProperty("kind").GetString() == "poll").GetProperty("poll");
        Assert.All(poll.GetProperty("options").EnumerateArray(), o => Assert.False(o.TryGetProperty("voters", out _)));
    }

    [Fact]
    public async Task Poll_Quiz_WithClosingTime_AnswerIsFinal_RightAnswerShownAfterward()
    {
        var school = await Scene.SchoolAsync("Школа №33");
        var classId = await school.ClassAsync("4В");
        var teacher = await school.TeacherAsync("Галина Ивановна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Ваня Соколов", classId);

        var (teacherPage, dialog) = await PollDialogAsync(teacher.Phone, "4В", "Столица России?", "Казань", "Москва", "Самара");
        await dialog.GetByLabel("Можно выбрать несколько вариантов").CheckAsync();
        await dialog.GetByLabel("Викторина", new() { Exact = false }).CheckAsync();
        await Expect(dialog.GetByLabel("Можно выбрать несколько вариантов")).Not.ToBeCheckedAsync();
        await Expect(dialog.GetByLabel("Можно выбрать несколько вариантов")).ToBeDisabledAsync();

        // Without the right answer marked the quiz is not created; then Москва is marked, and it closes tomorrow at 18:00 (Moscow).
        var tomorrow = DateTime.UtcNow.AddHours(3).Date.AddDays(1);
        await dialog.GetByLabel("Завершить опрос", new() { Exact = false }).FillAsync(tomorrow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "T18:00");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Создать опрос" }).ClickAsync();
        await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Отметьте верный ответ викторины (у заполненного варианта).");
        await dialog.GetByLabel("Верный ответ № 2").CheckAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Создать опрос" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        var teacherPoll = teacherPage.GetByRole(AriaRole.Group, new() { Name = "Опрос: Столица России?" });
        await Expect(teacherPoll).ToContainTextAsync("викторина");
        await Expect(teacherPoll).ToContainTextAsync("завершится");
        await Expect(teacherPoll).ToContainTextAsync("18:00");

        // The server has a quiz with Москва (the second option) right, closing at 15:00 UTC.
        var chatId = await School.ChatIdAsync(teacher, school.Id, "4В");
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var seq = history.EnumerateArray().Single(m => m.GetProperty("kind").GetString() == "poll").GetProperty("seq").GetInt64();
        var poll = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/polls/{seq}")); // the author may know the answer
        Assert.True(poll.GetProperty("quiz").GetBoolean());
        Assert.False(poll.GetProperty("multiple").GetBoolean());
        Assert.Equal(1, poll.GetProperty("correctOptionId").GetInt32());
        Assert.Equal(tomorrow.AddHours(15), poll.GetProperty("closesAt").GetDateTime().ToUniversalTime());

        // The pupil answers wrong: told so, the right answer is shown, and the answer cannot be changed.
        var pupilPage = await PageAsync(Phone);
        await SignInAsync(pupilPage, pupil.Phone);
        await OpenChatAsync(pupilPage, "4В");
        var pupilPoll = pupilPage.GetByRole(AriaRole.Group, new() { Name = "Опрос: Столица России?" });
        await Expect(pupilPoll).ToContainTextAsync("завершится");
        await Expect(pupilPoll.GetByText("верный ответ")).ToHaveCountAsync(0);
        await pupilPoll.GetByLabel("Казань").CheckAsync();
        await pupilPoll.GetByRole(AriaRole.Button, new() { Name = "Голосовать" }).ClickAsync();
        await Expect(pupilPoll).ToContainTextAsync("Неверно.");
        await Expect(Option(pupilPoll, "Москва")).ToContainTextAsync("верный ответ");
        await Expect(pupilPoll.GetByRole(AriaRole.Button, new() { Name = "Изменить голос" })).ToHaveCountAsync(0);
        await Expect(pupilPoll.GetByRole(AriaRole.Button, new() { Name = "Отозвать голос" })).ToHaveCountAsync(0);
        await Expect(Option(teacherPoll, "Казань")).ToContainTextAsync("1 · 100%");
        // The vote's push to the whole chat (it says nothing of who was right) reached the teacher's page above, and the
        // pupil's at the same moment: a second later both pages still say who was right (before, the push wiped it).
        await pupilPage.WaitForTimeoutAsync(1000);
        await Expect(pupilPoll).ToContainTextAsync("Неверно.");
        await Expect(Option(pupilPoll, "Москва")).ToContainTextAsync("верный ответ");
        await Expect(Option(teacherPoll, "Москва")).ToContainTextAsync("верный ответ");
        await ScreenshotBoth(pupilPage, "poll-quiz");
    }

    [Fact]
    public async Task Files_UploadWithProgress_PhotoPreview_VoiceNotePlays_DocumentDownloads_RefusedTypeExplained()
    {
        var school = await Scene.SchoolAsync("Школа №16");
        var classId = await school.ClassAsync("7В");
        var sender = await school.PupilAsync("Лена Фролова", classId);
        var reader = await school.PupilAsync("Миша Зайцев", classId);

        var senderPage = await PageAsync(Desktop);
        await SignInAsync(senderPage, sender.Phone);
        await OpenChatAsync(senderPage, "7В");
        var readerPage = await PageAsync(Phone);
        await SignInAsync(readerPage, reader.Phone);
        await OpenChatAsync(readerPage, "7В");

        await senderPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Фото доски, голосовое и конспект");
        await senderPage.Locator("input[type=file]").SetInputFilesAsync(new[]
        {
            Upload.File("доска.jpg", "image/jpeg", SampleFiles.Jpeg(800, 600)),
            Upload.File("голосовое.mp3", "audio/mpeg", SampleFiles.Mp3()),
            Upload.File("Конспект.pdf", "application/pdf", SampleFiles.Pdf()),
        });
        var card = MessageCard(readerPage, "Фото доски, голосовое и конспект");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(senderPage.Locator(".upload-tray")).ToHaveCountAsync(0);

        // The photo's preview loads; opening it shows the full picture.
        await readerPage.WaitForFunctionAsync("() => document.querySelector('.thumb img')?.naturalWidth > 0");
        await card.GetByRole(AriaRole.Button, new() { Name = "Открыть изображение доска.jpg" }).ClickAsync();
        var viewer = readerPage.GetByRole(AriaRole.Dialog, new() { Name = "доска.jpg" });
        await Expect(viewer).ToBeVisibleAsync();
        await readerPage.WaitForFunctionAsync("() => document.querySelector('dialog .full-img')?.naturalWidth === 800");
        await ScreenshotBoth(readerPage, "chat-files");
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();

        // The voice note is playable: the browser decodes it and knows its length.
        // Audio is fetched on «▶ Слушать», not when the message is shown.
        Assert.Equal(0, await readerPage.Locator(".file.audio audio").CountAsync());
        await readerPage.Locator(".file.audio").GetByRole(AriaRole.Button, new() { Name = "Слушать голосовое.mp3" }).ClickAsync();
        await readerPage.WaitForFunctionAsync("() => document.querySelector('.file.audio audio')?.duration > 2");
        await readerPage.EvaluateAsync("() => { const a = document.querySelector('.file.audio audio'); a.muted = true; return a.play(); }");
        await readerPage.WaitForFunctionAsync("() => document.querySelector('.file.audio audio').currentTime > 0");

        // The document downloads with its Russian name intact.
        var download = await readerPage.RunAndWaitForDownloadAsync(() => card.GetByRole(AriaRole.Button, new() { Name = "Скачать Конспект.pdf" }).ClickAsync());
        Assert.Equal("Конспект.pdf", download.SuggestedFilename);

        // A file the server refuses (an executable named .pdf) is explained, in Russian.
        await senderPage.Locator("input[type=file]").SetInputFilesAsync(Upload.File("реферат.pdf", "application/pdf", [0x4D, 0x5A, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xFF, 0xFF, 0, 0]));
        await Expect(senderPage.Locator(".upload-tray .error")).ToContainTextAsync("Файл «реферат.pdf» не отправлен: Такой тип файла не поддерживается.");
    }

    /// <summary>
    /// One refused file of several does not stop the others: a teacher sends a photo, «Оценки.csv» (a photo's bytes under
    /// a table's name, refused by content) and a PDF with a caption; the photo and the PDF are posted in one message with
    /// the caption, and the tray keeps only the refused file's row, naming it with the server's reason, with «Закрыть».
    /// Before, the first refusal stopped the message: the PDF never started, «Файл не отправлен: Содержимое файла…» named
    /// no file, and nothing was posted.
    /// </summary>
    [Fact]
    public async Task Files_OneOfThreeRefused_TheOthersPostedWithTheCaption_TheRefusedRowNamesIt()
    {
        var school = await Scene.SchoolAsync("Школа №18");
        var classId = await school.ClassAsync("9Г");
        var teacher = await school.TeacherAsync("Алла Сергеевна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "9Г");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "9Г");

        var composer = page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await composer.FillAsync("Домашнее задание и оценки за четверть");
        await page.Locator("input[type=file]").SetInputFilesAsync(new[]
        {
            Upload.File("Доска.jpg", "image/jpeg", SampleFiles.Jpeg(400, 300)),
            Upload.File("Оценки.csv", "text/csv", SampleFiles.Jpeg(40, 30)),
            Upload.File("Задание.pdf", "application/pdf", SampleFiles.Pdf(20_000)),
        });

        var card = MessageCard(page, "Домашнее задание и оценки за четверть");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(card.Locator(".file, .thumb")).ToHaveCountAsync(2);
        var tray = page.Locator(".upload-tray");
        await Expect(tray.Locator(".upload")).ToHaveCountAsync(1);
        await Expect(tray.GetByRole(AriaRole.Alert)).ToHaveTextAsync(
            "Файл «Оценки.csv» не отправлен: Содержимое файла не соответствует его расширению. Проверьте, что это действительно тот файл.");
        await Expect(tray.GetByRole(AriaRole.Button, new() { Name = "Повторить" })).ToHaveCountAsync(0);
        await Expect(composer).ToHaveValueAsync("");

        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var posted = Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Домашнее задание и оценки за четверть");
        Assert.Equal(["Доска.jpg", "Задание.pdf"], posted.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()));

        await tray.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(tray).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Moderation_ReportQueue_DeleteByRule_ViolationsBlockUntilDate_Unblock()
    {
        var school = await Scene.SchoolAsync("Школа №17");
        var classId = await school.ClassAsync("8Б");
        var teacher = await school.TeacherAsync("Олег Петрович", classTeacherOf: classId);
        var good = await school.PupilAsync("Катя Орлова", classId);
        var bad = await school.PupilAsync("Гена Грубов", classId);
        var chatId = await School.ChatIdAsync(bad, school.Id, "8Б");
        await School.SendAsync(bad, chatId, "Ты дура");
        await School.SendAsync(bad, chatId, "Все вы глупые");

        // A pupil reports a message, citing a school rule.
        var katya = await PageAsync(Phone);
        await SignInAsync(katya, good.Phone);
        await OpenChatAsync(katya, "8Б");
        await MessageCard(katya, "Ты дура").GetByRole(AriaRole.Button, new() { Name = "Пожаловаться" }).ClickAsync();
        var report = katya.GetByRole(AriaRole.Dialog, new() { Name = "Пожаловаться на сообщение" });
        await report.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await report.GetByLabel("Комментарий для модератора").FillAsync("Оскорбление");
        await report.GetByRole(AriaRole.Button, new() { Name = "Отправить жалобу" }).ClickAsync();
        await Expect(report).ToHaveCountAsync(0);
        // The page's notice (not the native alert) confirms it; «Закрыть» takes it away.
        var sent = katya.GetByRole(AriaRole.Status).Filter(new() { HasText = "Жалоба отправлена модераторам чата." });
        await Expect(sent).ToBeVisibleAsync();
        await sent.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(sent).ToHaveCountAsync(0);

        // The class teacher moderates: the report queue, deleting by the report, deleting by a rule.
        var olegPage = await PageAsync(Desktop);
        await SignInAsync(olegPage, teacher.Phone);
        await OpenChatAsync(olegPage, "8Б");
        await (await HeaderMenuItemAsync(olegPage, "О чате")).ClickAsync();
        var panel = olegPage.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        var queued = panel.Locator("li.report", new() { HasText = "Ты дура" });
        await Expect(queued).ToContainTextAsync("Оскорбление");
        await queued.GetByRole(AriaRole.Button, new() { Name = "Удалить сообщение" }).ClickAsync();
        await Expect(panel).ToContainTextAsync("Новых жалоб нет.");
        await Expect(Message(katya, "Ты дура")).ToHaveCountAsync(0);

        await MessageCard(olegPage, "Все вы глупые").GetByRole(AriaRole.Button, new() { Name = "Удалить по правилу" }).ClickAsync();
        var del = olegPage.GetByRole(AriaRole.Dialog, new() { Name = "Удалить сообщение по правилу" });
        await del.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 1 });
        await del.GetByRole(AriaRole.Button, new() { Name = "Удалить" }).ClickAsync();
        await Expect(Message(katya, "Все вы глупые")).ToHaveCountAsync(0);
        await Expect(katya.Locator(".msg .text.deleted")).ToHaveCountAsync(2);

        // Blocking needs more than three violations: the first try is refused with the reason.
        var member = panel.Locator("li.member", new() { HasText = "Гена Грубов" });
        await member.GetByRole(AriaRole.Button, new() { Name = "Заблокировать" }).ClickAsync();
        var block = olegPage.GetByRole(AriaRole.Dialog);
        await block.GetByRole(AriaRole.Button, new() { Name = "Заблокировать" }).ClickAsync();
        await Expect(block.GetByRole(AriaRole.Alert)).Not.ToBeEmptyAsync();
        await block.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();

        var genaPage = await PageAsync(Phone);
        await SignInAsync(genaPage, bad.Phone);
        await OpenChatAsync(genaPage, "8Б");
        for (var i = 1; i <= 4; i++)
        {
            await member.GetByRole(AriaRole.Button, new() { Name = "Нарушение" }).ClickAsync();
            var v = olegPage.GetByRole(AriaRole.Dialog);
            await v.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
            await v.GetByRole(AriaRole.Button, new() { Name = "Записать нарушение" }).ClickAsync();
            await Expect(member).ToContainTextAsync($"Нарушений: {i}");
        }

        await Expect(member).ToContainTextAsync("можно заблокировать");
        await member.GetByRole(AriaRole.Button, new() { Name = "Заблокировать" }).ClickAsync();
        block = olegPage.GetByRole(AriaRole.Dialog);
        var until = DateTime.Now.AddDays(3).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        await block.GetByLabel("До (включительно)").FillAsync(until);
        await block.GetByLabel("Причина").FillAsync("Оскорбления одноклассников");
        await block.GetByRole(AriaRole.Button, new() { Name = "Заблокировать" }).ClickAsync();
        await Expect(member).ToContainTextAsync("Заблокирован до");
        var banner = genaPage.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Вы заблокированы в этом чате" });
        await Expect(banner).ToContainTextAsync("Оскорбления одноклассников");
        await Expect(genaPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToHaveCountAsync(0);
        await ScreenshotBoth(genaPage, "blocked");

        // Early unblock: the pupil can write again at once.
        await member.GetByRole(AriaRole.Button, new() { Name = "Разблокировать" }).ClickAsync();
        await Expect(banner).ToHaveCountAsync(0);
        await SendAsync(genaPage, "Извините, больше не буду");
        await Expect(Message(olegPage, "Извините, больше не буду")).ToHaveCountAsync(1);

        // Everything above is in the audit log with the rule.
        var audit = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/audit"));
        var actions = audit.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("moderation.blocked", actions);
        Assert.Contains("moderation.unblocked", actions);
        Assert.Contains("moderation.report_resolved", actions);
    }

    [Fact]
    public async Task Admin_Statistics_Charts_Csv_AuditLog_ChannelWriters()
    {
        var school = await Scene.SchoolAsync("Школа №18");
        var a = await school.ClassAsync("9А");
        var b = await school.ClassAsync("9Б");
        var teacher = await school.TeacherAsync("Светлана Юрьевна", classTeacherOf: a);
        var p1 = await school.PupilAsync("Ваня Ким", a);
        await school.PupilAsync("Оля Ли", a);
        await school.PupilAsync("Дима Ан", b);
        await school.ParentAsync("Ким Сергей", p1.Id);
        await School.SendAsync(p1, await School.ChatIdAsync(p1, school.Id, "9А"), "Всем привет");

        // The admin works in Yekaterinburg (UTC+5): the CSV exports are asked for in her browser's time zone.
        var page = await PageAsync(Desktop, timeZone: "Asia/Yekaterinburg");
        var requested = new List<string>();
        page.Request += (_, r) => requested.Add(r.Url);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();

        // Statistics: charts drawn as SVG, with the figures in a table beside them.
        var stats = page.Locator("section[aria-labelledby=adm-stats]");
        var joined = stats.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Вступили и приглашены по классам") });
        await Expect(joined).ToHaveAttributeAsync("aria-label", new Regex("9А: ученики вступили 2, родители вступили 1"));
        await Expect(joined.Locator("rect.bar")).ToHaveCountAsync(3 * 2);
        await Expect(stats.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Сообщения по дням") })).ToHaveAttributeAsync("aria-label", new Regex("всего [1-9]"));
        await Expect(stats.Locator("table.stats-classes tr", new() { HasText = "9Б" })).ToContainTextAsync("1");
        // Lessons and calls per day have a chart too (none in this school yet), and the month's totals under it.
        await Expect(stats.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Уроки и звонки по дням") }).Locator("rect.bar")).ToHaveCountAsync(30 * 2);
        await Expect(stats.Locator("p.stats-calls")).ToHaveTextAsync("За 30 дней: звонков 0, из них уроков 0; минут звонков 0, минут участников 0.");
        var csv = await page.RunAndWaitForDownloadAsync(() => stats.GetByRole(AriaRole.Button, new() { Name = "Скачать статистику (CSV)" }).ClickAsync());
        Assert.Equal("statistics.csv", csv.SuggestedFilename);
        var text = await File.ReadAllTextAsync(await csv.PathAsync());
        Assert.Contains("\n\"По классам\";\"9А\";2;1;1;", text, StringComparison.Ordinal);
        Assert.Contains(";\"День (Asia/Yekaterinburg)\";", text, StringComparison.Ordinal);
        Assert.Contains(requested, u => u.EndsWith("/statistics.csv?tz=Asia%2FYekaterinburg", StringComparison.Ordinal));
        await stats.ScrollIntoViewIfNeededAsync();
        await ScreenshotBoth(page, "admin-stats");

        // The audit log, in Russian, and as CSV.
        var audit = page.Locator("section[aria-labelledby=adm-audit]");
        await Expect(audit.Locator("tr", new() { HasText = "назначен классный руководитель" })).ToHaveCountAsync(1);
        await Expect(audit.Locator("tr", new() { HasText = "учитель подтверждён" })).ToHaveCountAsync(1);
        var auditCsv = await page.RunAndWaitForDownloadAsync(() => audit.GetByRole(AriaRole.Button, new() { Name = "Скачать журнал (CSV)" }).ClickAsync());
        var auditText = await File.ReadAllTextAsync(await auditCsv.PathAsync());
        Assert.StartsWith("\"№\";\"Время (Asia/Yekaterinburg)\";\"Кто\";\"Действие\";\"Подробности\";\"Кто (ID)\";\"Объект (ID)\";\"Код действия\";\"Данные (JSON)\"\n",
            auditText.TrimStart('\uFEFF'), StringComparison.Ordinal);
        Assert.Contains(requested, u => u.EndsWith("/audit.csv?tz=Asia%2FYekaterinburg", StringComparison.Ordinal));
        var attached = (await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/audit?limit=500"))).EnumerateArray()
            .Single(e => e.GetProperty("action").GetString() == "class_teacher.attached");
        var attachedAt = attached.GetProperty("at").GetDateTime().ToUniversalTime().AddHours(5);
        Assert.Contains($"\n{attached.GetProperty("id").GetInt64()};{attachedAt:dd.MM.yyyy HH:mm:ss};", auditText, StringComparison.Ordinal);
        Assert.Contains(";\"назначен классный руководитель\";", auditText, StringComparison.Ordinal);

        // The CSV's details are the page's, in Russian (the teacher's name, not the stored JSON); the JSON is last.
        var pageDetails = await audit.Locator("tr", new() { HasText = "назначен классный руководитель" }).Locator("td.details").InnerTextAsync();
        Assert.Equal("Светлана Юрьевна", pageDetails);
        Assert.Contains($";\"назначен классный руководитель\";\"{pageDetails}\";", auditText, StringComparison.Ordinal);

        // A system channel for parents; the class teacher is allowed to post in it.
        var channels = page.Locator("section[aria-labelledby=adm-channels]");
        await page.GetByLabel("Новый канал").FillAsync("Новости для родителей");
        await page.GetByLabel("для", new() { Exact = true }).SelectOptionAsync("parent");
        await channels.GetByRole(AriaRole.Button, new() { Name = "Создать канал" }).ClickAsync();
        var row = channels.Locator("tr", new() { HasText = "Новости для родителей" });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(channels.Locator("tr", new() { HasText = "Общешкольный канал" })).ToHaveCountAsync(1);

        // The school channel: the teacher may post there once the admin allows it — her open channel gets its input box
        // at once (her role change is pushed), without a reload.
        (await school.Admin.Http.PutAsync($"/api/schools/{school.Id}/directors/{teacher.Id}", null)).EnsureSuccessStatusCode();
        // Her phone is in a zone whose date is not UTC's now: Pago Pago (UTC−11) before 11:00 UTC, Kiritimati (UTC+14) from 10:00.
        var farZone = DateTime.UtcNow.Hour < 10 ? "Pacific/Pago_Pago" : "Pacific/Kiritimati";
        var teacherPage = await PageAsync(Phone, timeZone: farZone);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "Общешкольный канал");
        var input = teacherPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await Expect(input).ToHaveCountAsync(0);
        var schoolChannel = channels.Locator("tr", new() { HasText = "Общешкольный канал" });
        await schoolChannel.GetByLabel("Кто ещё может писать в канал Общешкольный канал").SelectOptionAsync(new SelectOptionValue { Label = "Светлана Юрьевна" });
        await schoolChannel.GetByRole(AriaRole.Button, new() { Name = "Разрешить писать" }).ClickAsync();
        await Expect(channels.Locator("tr", new() { HasText = "Общешкольный канал" })).ToContainTextAsync("Светлана Юрьевна");
        await Expect(input).ToBeVisibleAsync();

        // Both are in the audit log at once, in Russian: the channel with its audience; the role change with the channel,
        // the new role and whom. No action or role is shown as its code.
        var roleChange = audit.Locator("tr", new() { HasText = "права участника чата изменены" });
        await Expect(roleChange).ToContainTextAsync("«Общешкольный канал» · теперь модератор (в канале может писать) · Светлана Юрьевна");
        await Expect(audit.Locator("tr", new() { HasText = "создан чат" }).Filter(new() { HasText = "Новости для родителей" })).ToContainTextAsync("для: родители");
        var actionCells = await audit.Locator("tbody td:nth-child(3)").AllTextContentsAsync();
        Assert.DoesNotContain(actionCells, t => Regex.IsMatch(t, "[a-z]"));
        var detailCells = await audit.Locator("tbody td.details").AllTextContentsAsync();
        Assert.DoesNotContain(detailCells, t => Regex.IsMatch(t, @"\b(owner|moderator|member|student|parent|staff|teacher)\b"));

        await SendAsync(teacherPage, "Олимпиада по математике в субботу");
        await Expect(Message(teacherPage, "Олимпиада по математике в субботу")).ToHaveCountAsync(1);

        // She is also the director: she reads the statistics (and nothing else of the administration).
        await teacherPage.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await teacherPage.GetByRole(AriaRole.Button, new() { Name = "Статистика" }).ClickAsync();
        await Expect(teacherPage.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Вступили и приглашены по классам") })).ToBeVisibleAsync();
        await Expect(teacherPage.GetByRole(AriaRole.Heading, new() { Name = "Журнал действий" })).ToHaveCountAsync(0);

        // The chart's days are the days of her browser's time zone: the last bar is her today, with today's messages.
        var herToday = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById(farZone));
        var lastDay = teacherPage.GetByRole(AriaRole.Img, new() { NameRegex = new Regex("^Сообщения по дням") }).Locator("rect.bar title").Last;
        await Expect(lastDay).ToHaveTextAsync(new Regex($"^{Regex.Escape(herToday.ToString("dd.MM", System.Globalization.CultureInfo.InvariantCulture))}: Сообщений — [1-9]"));
    }

    [Fact]
    public async Task Admin_Statistics_BrowsersTimeZoneUnknownToTheServer_ShownInUtcDays()
    {
        var school = await Scene.SchoolAsync("Школа №19");
        var a = await school.ClassAsync("8А");
        var pupil = await school.PupilAsync("Петя Орлов", a);
        await School.SendAsync(pupil, await School.ChatIdAsync(pupil, school.Id, "8А"), "Привет");

        // The server's time-zone data lacks the browser's zone (here: a name no one has): it answers 400 on tz.
        var page = await PageAsync(Desktop);
        await page.RouteAsync(new Regex(@"/statistics\?tz="), route => route.Request.Url.Contains("tz=UTC", StringComparison.Ordinal)
            ? route.ContinueAsync()
            : route.ContinueAsync(new() { Url = Regex.Replace(route.Request.Url, "tz=[^&]*", "tz=Mars%2FOlympus") }));
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();

        var chart = page.Locator("section[aria-labelledby=adm-stats]").GetByRole(AriaRole.Img, new() { NameRegex = new Regex(@"^Сообщения по дням \(30 дней, дни по UTC\)") });
        await Expect(chart).ToHaveAttributeAsync("aria-label", new Regex("всего [1-9]"));
        var utcToday = DateTime.UtcNow.ToString("dd.MM", System.Globalization.CultureInfo.InvariantCulture);
        await Expect(chart.Locator("rect.bar title").Last).ToHaveTextAsync(new Regex($"^{Regex.Escape(utcToday)}: Сообщений — [1-9]"));
    }

    [Fact]
    public async Task Mentions_DirectChat_NewSubjectChat_ParentSwitchesBetweenChildren()
    {
        var school = await Scene.SchoolAsync("Школа №19");
        var a = await school.ClassAsync("2А");
        var b = await school.ClassAsync("4Б");
        var teacher = await school.TeacherAsync("Нина Павловна", classTeacherOf: a);
        var younger = await school.PupilAsync("Саша Егоров", a);
        var older = await school.PupilAsync("Маша Егорова", b);
        await school.PupilAsync("Коля Смирнов", a); // Саша's classmate: safe mode keeps other families from writing to him
        var parent = await school.ParentAsync("Павел Егоров", younger.Id);
        await school.JoinAsync(parent, "parent", childId: older.Id);

        // A parent of two children picks whose class chats to see.
        var parentPage = await PageAsync(Phone);
        await SignInAsync(parentPage, parent.Phone);
        await Expect(ChatItem(parentPage, "Родители 2А")).ToBeVisibleAsync();
        await Expect(ChatItem(parentPage, "Родители 4Б")).ToBeVisibleAsync();
        await parentPage.GetByLabel("Ребёнок").SelectOptionAsync(new SelectOptionValue { Label = "Маша Егорова (4Б)" });
        await Expect(ChatItem(parentPage, "Родители 2А")).ToHaveCountAsync(0);
        await Expect(ChatItem(parentPage, "Родители 4Б")).ToBeVisibleAsync();
        await Expect(ChatItem(parentPage, "Общешкольный канал")).ToBeVisibleAsync();
        await Screenshot(parentPage, "parent-children-phone");

        // A message in Саша's class chat, hidden by the choice: his option says it is there.
        var sashasParents = await School.ChatIdAsync(teacher, school.Id, "Родители 2А");
        await School.SendAsync(teacher, sashasParents, "Завтра родительское собрание");
        await Expect(parentPage.GetByLabel("Ребёнок").Locator("option", new() { HasText = "Саша Егоров" })).ToHaveTextAsync("Саша Егоров (2А) · 1 непрочитанное");
        await Expect(ChatItem(parentPage, "Родители 2А")).ToHaveCountAsync(0);

        // The choice stays on this device: after a reload it is still Маша's class.
        await parentPage.ReloadAsync();
        await Expect(ChatItem(parentPage, "Родители 4Б")).ToBeVisibleAsync();
        await Expect(parentPage.GetByLabel("Ребёнок").Locator("option:checked")).ToHaveTextAsync("Маша Егорова (4Б)");
        await Expect(ChatItem(parentPage, "Родители 2А")).ToHaveCountAsync(0);

        // Маша moves to another class while the page is open: the choice stays hers and shows her new class's chats.
        var c = await school.ClassAsync("4В");
        (await school.Admin.Http.PutAsJsonAsync($"/api/schools/{school.Id}/students/{older.Id}/class", new { classId = c })).EnsureSuccessStatusCode();
        await Expect(ChatItem(parentPage, "Родители 4В")).ToBeVisibleAsync();
        await Expect(ChatItem(parentPage, "Родители 4Б")).ToHaveCountAsync(0);
        await Expect(ChatItem(parentPage, "Родители 2А")).ToHaveCountAsync(0);
        await Expect(parentPage.GetByLabel("Ребёнок").Locator("option:checked")).ToHaveTextAsync("Маша Егорова (4В)");

        // The parent writes to the class teacher directly (parents may write to staff).
        await parentPage.GetByLabel("Ребёнок").SelectOptionAsync(new SelectOptionValue { Label = "Все дети" });
        await parentPage.GetByRole(AriaRole.Button, new() { Name = "Написать лично" }).ClickAsync();
        var direct = parentPage.GetByRole(AriaRole.Dialog, new() { Name = "Написать лично" });
        // Offered: whom the rules let him write to (the teacher, named with her class, and his own children), not a
        // classmate of his son.
        await Expect(direct.GetByLabel("Кому").Locator("option", new() { HasText = "Нина Павловна" })).ToHaveCountAsync(1); // the dialog is open
        var offered = await direct.GetByLabel("Кому").Locator("option").AllTextContentsAsync();
        Assert.Contains("Нина Павловна — учитель, классный руководитель 2А", offered);
        Assert.Contains("Маша Егорова", offered);
        Assert.DoesNotContain(offered, o => o.StartsWith("Коля Смирнов", StringComparison.Ordinal));
        await direct.GetByLabel("Кому").SelectOptionAsync(new SelectOptionValue { Label = "Нина Павловна — учитель, классный руководитель 2А" });
        await direct.GetByRole(AriaRole.Button, new() { Name = "Открыть чат" }).ClickAsync();
        await Expect(parentPage.Locator(".chat-head h2")).ToHaveTextAsync("Нина Павловна");
        await SendAsync(parentPage, "Добрый день! Саша заболел.");

        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "Павел Егоров");
        await Expect(Message(teacherPage, "Добрый день! Саша заболел.")).ToHaveCountAsync(1);

        // The teacher creates a subject chat for 2А; its pupils are in it, and a mention reaches one of them.
        await teacherPage.GetByRole(AriaRole.Button, new() { Name = "Создать чат" }).ClickAsync();
        var create = teacherPage.GetByRole(AriaRole.Dialog, new() { Name = "Новый чат" });
        await create.GetByLabel("Название").FillAsync("Математика 2А");
        await create.GetByLabel(new Regex("^Класс")).SelectOptionAsync(new SelectOptionValue { Label = "2А" });
        await create.GetByLabel("Правила чата").FillAsync("Только об уроках математики.");
        await create.GetByRole(AriaRole.Button, new() { Name = "Создать" }).ClickAsync();
        await Expect(teacherPage.Locator(".chat-head h2")).ToHaveTextAsync("Математика 2А");
        await Expect(teacherPage.Locator(".messages[data-loaded]")).ToHaveCountAsync(1);
        var box = teacherPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await box.PressSequentiallyAsync("@Са");
        await Expect(teacherPage.GetByRole(AriaRole.Option, new() { Name = "Саша Егоров" })).ToBeVisibleAsync();
        await box.PressAsync("Enter");
        await box.PressSequentiallyAsync("реши задачу 5");
        await box.PressAsync("Enter");

        var sashaPage = await PageAsync(Phone);
        await SignInAsync(sashaPage, younger.Phone);
        await Expect(ChatItem(sashaPage, "Математика 2А").Locator(".badge.mention")).ToHaveTextAsync("@1");
        await OpenChatAsync(sashaPage, "Математика 2А");
        await Expect(MessageCard(sashaPage, "@Саша Егоров реши задачу 5").Locator("mark.mention")).ToHaveTextAsync("@Саша Егоров");
        await ScreenshotBoth(teacherPage, "new-chat");
    }

    private static ILocator Option(ILocator poll, string text) => poll.Locator("li.poll-opt", new() { HasText = text });

    /// <summary>Signs in on a desktop page, opens the chat and fills the new-poll dialog's question and options (not yet created).</summary>
    private async Task<(IPage Page, ILocator Dialog)> PollDialogAsync(string phone, string chat, string question, params string[] options)
    {
        var page = await PageAsync(Desktop);
        await SignInAsync(page, phone);
        await OpenChatAsync(page, chat);
        await page.GetByRole(AriaRole.Button, new() { Name = "Создать опрос" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Новый опрос" });
        await dialog.GetByLabel("Вопрос").FillAsync(question);
        for (var i = 0; i < options.Length; i++)
        {
            if (i >= 2)
            {
                await dialog.GetByRole(AriaRole.Button, new() { Name = "Добавить вариант" }).ClickAsync();
            }

            await dialog.GetByLabel($"Вариант {i + 1}").FillAsync(options[i]);
        }

        return (page, dialog);
    }
}
