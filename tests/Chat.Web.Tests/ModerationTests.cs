using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// A chat's owner mutes a member for a few hours and removes another from the chat, in «О чате»; a school admin moderates
/// a class chat she is not in through a logged moderation case.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class ModerationTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Teacher_MutesPupil_PupilCannotWrite_Unmutes_RemovesAnother_WhoLosesTheChat()
    {
        var school = await Scene.SchoolAsync("Школа №31");
        var classId = await school.ClassAsync("8Б");
        var teacher = await school.TeacherAsync("Вера Павловна", classTeacherOf: classId);
        var petya = await school.PupilAsync("Петя Смирнов", classId);
        var olya = await school.PupilAsync("Оля Никитина", classId);
        var chat = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "subject", title = "Алгебра 8Б", classId, memberIds = new[] { petya.Id, olya.Id } }));
        var chatId = chat.GetProperty("id").GetGuid();

        var petyaPage = await PageAsync(Phone);
        await SignInAsync(petyaPage, petya.Phone);
        await OpenChatAsync(petyaPage, "Алгебра 8Б");
        var petyaBox = petyaPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await Expect(petyaBox).ToBeVisibleAsync();

        // A plain member has no moderation in «О чате».
        await (await HeaderMenuItemAsync(petyaPage, "О чате")).ClickAsync();
        var petyaPanel = petyaPage.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        await Expect(petyaPanel.Locator("li.member", new() { HasText = "Оля Никитина" })).ToBeVisibleAsync();
        await Expect(petyaPanel.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" })).ToHaveCountAsync(0);
        await Expect(petyaPanel.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" })).ToHaveCountAsync(0);
        await petyaPanel.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();

        var olyaPage = await PageAsync(Phone);
        await SignInAsync(olyaPage, olya.Phone);
        await OpenChatAsync(olyaPage, "Алгебра 8Б");

        // A violation of Petya's recorded before (by another moderator, on another day).
        await App.ExecuteSqlAsync(
            "INSERT INTO violations (id, chat_id, account_id, rule_id, moderator_id, note) SELECT gen_random_uuid(), @chatId, @petya, r.id, @teacher, 'списывал' FROM school_rules r WHERE r.school_id = @school AND r.archived_at IS NULL ORDER BY r.number LIMIT 1",
            new { chatId, petya = petya.Id, teacher = teacher.Id, school = school.Id });

        // The teacher (the chat's owner) sees it under his name, and mutes Petya for three hours, citing a rule.
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "Алгебра 8Б");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        var petyaRow = panel.Locator("li.member", new() { HasText = "Петя Смирнов" });
        await Expect(petyaRow).ToContainTextAsync("Нарушений: 1");
        await Expect(panel.Locator("li.member", new() { HasText = "Оля Никитина" })).Not.ToContainTextAsync("Нарушений");
        await petyaRow.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" }).ClickAsync();
        var mute = page.GetByRole(AriaRole.Dialog, new() { Name = "Запретить писать: Петя Смирнов" });
        await mute.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await mute.GetByLabel("На сколько").SelectOptionAsync(new SelectOptionValue { Label = "3 часа" });
        await mute.GetByLabel("Причина").FillAsync("Флуд во время урока");
        await mute.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" }).ClickAsync();
        await Expect(mute).ToHaveCountAsync(0);
        await Expect(petyaRow).ToContainTextAsync("Не может писать до");

        // Petya sees why and until when, and has no input box; Olya still writes.
        var banner = petyaPage.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Вы не можете писать в этом чате" });
        await Expect(banner).ToContainTextAsync("Причина: Флуд во время урока");
        await Expect(petyaBox).ToBeHiddenAsync();
        await Expect(olyaPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeVisibleAsync();
        var audit = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/audit?limit=20"));
        var muted = audit.EnumerateArray().Single(e => e.GetProperty("action").GetString() == "moderation.muted");
        Assert.Equal(petya.Id, muted.GetProperty("subjectId").GetGuid());
        Assert.Contains("\"Minutes\":180", muted.GetProperty("details").GetString()!.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);

        // «Разрешить писать» lifts it at once.
        await petyaRow.GetByRole(AriaRole.Button, new() { Name = "Разрешить писать" }).ClickAsync();
        await Expect(banner).ToHaveCountAsync(0);
        await Expect(petyaBox).ToBeVisibleAsync();
        await Expect(petyaRow).Not.ToContainTextAsync("Не может писать");

        // Removing Olya asks first: cancelling keeps her.
        var olyaRow = panel.Locator("li.member", new() { HasText = "Оля Никитина" });
        await olyaRow.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" }).ClickAsync();
        var remove = page.GetByRole(AriaRole.Dialog, new() { Name = "Удалить из чата: Оля Никитина" });
        await Expect(remove).ToContainTextAsync("перестанет видеть чат «Алгебра 8Б»");
        await remove.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(remove).ToHaveCountAsync(0);
        await Expect(olyaRow).ToBeVisibleAsync();

        await olyaRow.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" }).ClickAsync();
        await remove.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await remove.GetByLabel("Причина").FillAsync("Перевелась в другую группу");
        await remove.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" }).ClickAsync();
        await Expect(remove).ToHaveCountAsync(0);
        await Expect(olyaRow).ToHaveCountAsync(0);
        await Expect(panel).ToContainTextAsync("Участники (2)");
        await ScreenshotBoth(page, "moderation-members");

        // Olya's open chat closes and leaves her list; the server agrees.
        await Expect(olyaPage.GetByText("Вы больше не участник этого чата.")).ToBeVisibleAsync();
        await olyaPage.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await Expect(ChatItem(olyaPage, "8Б")).ToBeVisibleAsync();
        await Expect(ChatItem(olyaPage, "Алгебра 8Б")).ToHaveCountAsync(0);
        var members = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/members"));
        Assert.DoesNotContain(members.EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == olya.Id);

        // The class chat's members come from the school's roster: it offers a mute but no removal.
        await OpenChatAsync(page, "8Б");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var classRow = panel.Locator("li.member", new() { HasText = "Оля Никитина" });
        await Expect(classRow.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" })).ToBeVisibleAsync();
        await Expect(classRow.GetByRole(AriaRole.Button, new() { Name = "Удалить из чата" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task PupilsMuteRunsOut_WhileTheChatIsOpen_TheInputComesBackWithoutReopening()
    {
        var school = await Scene.SchoolAsync("Школа №37");
        var classId = await school.ClassAsync("7Г");
        var teacher = await school.TeacherAsync("Ирина Львовна", classTeacherOf: classId);
        var petya = await school.PupilAsync("Петя Гусев", classId);
        var chatId = await School.ChatIdAsync(petya, school.Id, "7Г");
        // A mute that ends a few seconds from now (the shortest a moderator can give is a minute).
        await App.ExecuteSqlAsync(
            """
            INSERT INTO chat_restrictions (id, chat_id, account_id, kind, rule_id, reason, moderator_id, starts_at, ends_at)
            SELECT gen_random_uuid(), @chatId, @pupil, 'mute', r.id, 'Флуд во время урока', @teacher, now() - interval '1 minute', now() + interval '5 seconds'
            FROM school_rules r WHERE r.school_id = @schoolId ORDER BY r.number LIMIT 1
            """, new { chatId, pupil = petya.Id, teacher = teacher.Id, schoolId = school.Id });

        var page = await PageAsync(Phone);
        await SignInAsync(page, petya.Phone);
        await OpenChatAsync(page, "7Г");
        var banner = page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Вы не можете писать в этом чате" });
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await Expect(banner).ToBeVisibleAsync();
        await Expect(box).ToBeHiddenAsync();

        // Its time is up: the page asks the server again, the banner goes and he writes.
        await Expect(banner).ToHaveCountAsync(0);
        await Expect(box).ToBeVisibleAsync();
        await SendAsync(page, "Я больше не буду");
        await Expect(Message(page, "Я больше не буду")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task Admin_OpensCaseOnClassChat_EmptyReasonRefused_DeletesPupilsMessageByRule_AuditShowsTheCase()
    {
        var school = await Scene.SchoolAsync("Школа №33");
        var classId = await school.ClassAsync("7А");
        var teacher = await school.TeacherAsync("Нина Сергеевна", classTeacherOf: classId);
        var gena = await school.PupilAsync("Гена Грубов", classId);
        var katya = await school.PupilAsync("Катя Светлова", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "7А");
        await School.SendAsync(gena, chatId, "Катя глупая");

        var katyaPage = await PageAsync(Phone);
        await SignInAsync(katyaPage, katya.Phone);
        await OpenChatAsync(katyaPage, "7А");
        await Expect(Message(katyaPage, "Катя глупая")).ToHaveCountAsync(1);

        // The admin is not in 7А: her list does not have it; «Чаты школы» offers a case on it.
        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await Expect(ChatItem(page, "Общешкольный канал")).ToBeVisibleAsync();
        await Expect(ChatItem(page, "7А")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        var chats = page.Locator("#adm-chats-sec");
        var row = chats.Locator($"tr[data-chat-id='{chatId}']");
        await Expect(row).ToContainTextAsync("класс");
        await Expect(chats.Locator("tr", new() { HasText = "Общешкольный канал" })).ToContainTextAsync("вы владелец");

        // The dialog says what a case does; an empty reason is refused in it, with the server's message.
        var open = row.GetByRole(AriaRole.Button, new() { Name = "Открыть разбор 7А" });
        await open.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Открыть разбор чата «7А»" });
        await Expect(dialog).ToContainTextAsync("На 24 часа вы получите права модератора в этом чате");
        await Expect(dialog).ToContainTextAsync("записываются в журнал действий школы");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Открыть разбор" }).ClickAsync();
        await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Укажите причину.");
        await Expect(row).ToContainTextAsync("—");
        await dialog.GetByLabel("Причина разбора (обязательно)").FillAsync("Жалоба мамы Кати на оскорбления");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Открыть разбор" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);

        // The row says until when (the server's end, in local time: 24 hours on, so «завтра»); the focus is on «Открыть чат».
        var listed = (await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/chats"))).EnumerateArray().Single(c => c.GetProperty("id").GetGuid() == chatId);
        var end = TimeZoneInfo.ConvertTimeFromUtc(listed.GetProperty("caseUntil").GetDateTime().ToUniversalTime(), TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow"));
        var caseEnd = "Разбор до завтра, " + end.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await Expect(row).ToContainTextAsync(caseEnd);
        var openChat = row.GetByRole(AriaRole.Button, new() { Name = "Открыть чат 7А" });
        await Expect(openChat).ToBeFocusedAsync();

        // «Открыть чат»: the chat view with 7А open as its moderator, the case's end in the header; still not in her list.
        await openChat.ClickAsync();
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("7А");
        await Expect(page.Locator(".messages[data-loaded]")).ToHaveCountAsync(1);
        await Expect(page.Locator(".chat-head .case-end")).ToHaveTextAsync(caseEnd);
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Разбор чата: вы модератор здесь до" })).ToBeVisibleAsync();
        await Expect(ChatItem(page, "7А")).ToHaveCountAsync(0);
        await Expect(page.Locator(".chat-head").GetByRole(AriaRole.Button, new() { Name = "Начать урок" })).ToHaveCountAsync(0);
        await Expect(page.Locator(".readonly-note")).ToHaveTextAsync("Вы ведёте разбор этого чата: модерировать можно, писать в него — нет.");
        await Expect(page.GetByLabel("Сообщение", new() { Exact = true })).ToBeHiddenAsync();
        await ScreenshotBoth(page, "moderation-case");

        // She deletes Гена's message by a rule: gone for Катя at once.
        await MessageCard(page, "Катя глупая").GetByRole(AriaRole.Button, new() { Name = "Удалить по правилу" }).ClickAsync();
        var del = page.GetByRole(AriaRole.Dialog, new() { Name = "Удалить сообщение по правилу" });
        await del.GetByLabel("Правило школы").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await del.GetByRole(AriaRole.Button, new() { Name = "Удалить" }).ClickAsync();
        await Expect(Message(page, "Катя глупая")).ToHaveCountAsync(0);
        await Expect(Message(katyaPage, "Катя глупая")).ToHaveCountAsync(0);

        // «О чате» gives her a moderator's tools for the members.
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var genaRow = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" }).Locator("li.member", new() { HasText = "Гена Грубов" });
        await Expect(genaRow.GetByRole(AriaRole.Button, new() { Name = "Запретить писать" })).ToBeVisibleAsync();
        await HeaderMenuItemAsync(page, "Материалы");
        await Expect(page.GetByRole(AriaRole.Menu, new() { Name = "Ещё действия" }).GetByRole(AriaRole.Menuitem, new() { Name = "Закрепить" })).ToHaveCountAsync(0);
        await page.Keyboard.PressAsync("Escape");

        // Not a member, she gets no pushes: a new message reaches her page through the catch-up every 15 seconds.
        await School.SendAsync(gena, chatId, "Я больше не буду");
        await Expect(Message(page, "Я больше не буду")).ToHaveCountAsync(1, new() { Timeout = 20_000 });

        // The audit log in Russian: the case with the chat, the reason and its end, then the deletion by the rule.
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        var audit = page.Locator("#adm-audit-sec");
        var opened = audit.Locator("tr", new() { HasText = "открыт разбор чата" });
        await Expect(opened).ToContainTextAsync("7А · причина: Жалоба мамы Кати на оскорбления · до ");
        await Expect(opened).ToContainTextAsync(end.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        await Expect(audit.Locator("tr", new() { HasText = "сообщение удалено модератором" })).ToContainTextAsync("правило 1 · Гена Грубов");
    }
}
