using System.Net.Http.Json;
using System.Text.Json;
using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>The unread count in the tab's title and system notifications (the Notification API) in the web client.</summary>
[Collection(WebCollection.Name)]
public sealed class NotificationTests(WebApp app) : WebTest(app)
{
    private const string Title = "Школьный мессенджер";

    /// <summary>
    /// Before the page's scripts run: window.Notification records what the page shows (window.__notes) instead of
    /// showing it; permission and its request stay the browser's own (granted or not by the test's context).
    /// </summary>
    private const string RecordNotifications = """
        (() => {
          const Real = window.Notification;
          window.__notes = [];
          class Recorded extends EventTarget {
            constructor(title, options = {}) {
              super();
              Object.assign(this, { title, body: options.body, tag: options.tag, closed: false, onclick: null, onclose: null });
              window.__notes.push(this);
            }
            static get permission() { return Real.permission; }
            static requestPermission() { return Real.requestPermission(); }
            close() { this.closed = true; this.onclose?.(new Event('close')); }
            click() { const ev = new Event('click', { cancelable: true }); this.dispatchEvent(ev); this.onclick?.(ev); }
          }
          window.Notification = Recorded;
        })();
        """;

    /// <summary>The tab can be "hidden" by the test (window.__setHidden): headless Chromium's own tab is always visible.</summary>
    internal const string ControlVisibility = """
        (() => {
          let hidden = false;
          Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
          Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
          window.__setHidden = value => { hidden = value; document.dispatchEvent(new Event('visibilitychange')); };
        })();
        """;

    [Fact]
    public async Task Pupil_TurnsNotificationsOn_ClassmatesMessageElsewhereNotifies_OpenMineMutedDoNot_MentionDoes_ClickOpensChat()
    {
        var school = await Scene.SchoolAsync("Школа №51");
        var classId = await school.ClassAsync("6Д");
        var masha = await school.PupilAsync("Маша Кузнецова", classId);
        var petya = await school.PupilAsync("Петя Соколов", classId);
        var teacher = await school.TeacherAsync("Ирина Павловна");
        var group = (await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "group", title = "Шахматы", memberIds = new[] { masha.Id, petya.Id } }))).GetProperty("id").GetGuid();
        var classChat = await School.ChatIdAsync(petya, school.Id, "6Д");
        var channel = await School.ChatIdAsync(school.Admin, school.Id, "Общешкольный канал");

        var page = await PageAsync(Desktop);
        await page.Context.GrantPermissionsAsync(["notifications"], new() { Origin = App.BaseUrl });
        await page.Context.AddInitScriptAsync(RecordNotifications);
        await page.Context.AddInitScriptAsync(ControlVisibility);
        await SignInAsync(page, masha.Phone);
        await Expect(ChatItem(page, "Шахматы")).ToBeVisibleAsync();
        await Expect(page).ToHaveTitleAsync(Title);

        // Switched on in «Профиль» (the browser allows it); the setting is this device's.
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        var toggle = page.GetByRole(AriaRole.Switch, new() { Name = "Уведомления на этом устройстве" });
        await Expect(toggle).Not.ToBeCheckedAsync();
        await toggle.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Уведомления включены." })).ToBeVisibleAsync();
        await Expect(toggle).ToBeCheckedAsync();
        await Expect(toggle).ToBeFocusedAsync();
        Assert.Equal("on", await page.EvaluateAsync<string>("() => localStorage.getItem('chat.notifications')"));
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        await OpenChatAsync(page, "6Д");

        // A classmate's message in another chat: one notification, titled with the chat, «Имя: текст»; the title counts it.
        await School.SendAsync(petya, group, "Партия в четверг после уроков");
        await WaitForNotes(page, 1);
        var first = (await Notes(page))[0];
        Assert.Equal("Шахматы", first.GetProperty("title").GetString());
        Assert.Equal("Петя Соколов: Партия в четверг после уроков", first.GetProperty("body").GetString());
        Assert.Equal($"chat-{group}", first.GetProperty("tag").GetString());
        await Expect(page).ToHaveTitleAsync($"(1) {Title}");

        // A file and a voice note read as the chat list shows them, under the same tag (one per chat on screen).
        await SendFileAsync(petya, school.Id, group, "Конспект.pdf", SampleFiles.Pdf());
        await SendFileAsync(petya, school.Id, group, "Голосовое сообщение.mp3", SampleFiles.Mp3());
        await WaitForNotes(page, 3);
        var notes = await Notes(page);
        Assert.Equal("Петя Соколов: 📎 Конспект.pdf", notes[1].GetProperty("body").GetString());
        Assert.Equal("Петя Соколов: 🎤 Голосовое сообщение", notes[2].GetProperty("body").GetString());
        Assert.All(notes, n => Assert.Equal($"chat-{group}", n.GetProperty("tag").GetString()));
        await Expect(page).ToHaveTitleAsync($"(3) {Title}");

        // In the open chat of a visible tab: shown, not notified. My own message elsewhere (from another device): none.
        await School.SendAsync(petya, classChat, "Кто дежурит завтра?");
        await Expect(Message(page, "Кто дежурит завтра?")).ToBeVisibleAsync();
        await School.SendAsync(masha, group, "Я приду");
        await Expect(ChatItem(page, "Шахматы").Locator(".last")).ToHaveTextAsync("Маша Кузнецова: Я приду");
        Assert.Equal(3, (await Notes(page)).Length);
        await Expect(page).ToHaveTitleAsync($"(3) {Title}");

        // A muted chat: nothing, and its unread messages are not counted in the title; a mention of me there notifies.
        await OpenChatAsync(page, "Общешкольный канал");
        await (await HeaderMenuItemAsync(page, "Без звука")).ClickAsync();
        await Expect(ChatItem(page, "Общешкольный канал").Locator(".flag.muted-flag")).ToBeVisibleAsync();
        await OpenChatAsync(page, "6Д");
        await School.SendAsync(school.Admin, channel, "Расписание на неделю обновлено");
        await Expect(ChatItem(page, "Общешкольный канал").Locator(".badge.muted-badge")).ToHaveTextAsync("1");
        Assert.Equal(3, (await Notes(page)).Length);
        await Expect(page).ToHaveTitleAsync($"(3) {Title}");
        var mention = "@Маша Кузнецова, зайди, пожалуйста, в учительскую после шестого урока: нужно обсудить твоё участие в олимпиаде по математике и подготовку к ней";
        await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/chats/{channel}/messages", new { clientId = Guid.NewGuid(), text = mention, mentions = new[] { masha.Id } }));
        await WaitForNotes(page, 4);
        var mentioned = (await Notes(page))[3];
        Assert.Equal("Общешкольный канал", mentioned.GetProperty("title").GetString());
        var body = mentioned.GetProperty("body").GetString()!;
        Assert.EndsWith("…", body, StringComparison.Ordinal);
        Assert.InRange(body.Length, 100, 120);
        Assert.StartsWith(body[..^1], "Анна Администратор: " + mention, StringComparison.Ordinal);

        // A click on the chess notification opens that chat; read, it leaves the title, and its notification is closed.
        await page.EvaluateAsync("() => window.__notes[2].click()");
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("Шахматы");
        await Expect(Message(page, "Партия в четверг после уроков")).ToBeVisibleAsync();
        await Expect(page).ToHaveTitleAsync(Title);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notes[2].closed"));

        // The open chat in a tab in the background notifies and counts; back in the tab, it is read and both go.
        await page.EvaluateAsync("() => window.__setHidden(true)");
        await School.SendAsync(petya, group, "Ход конём");
        await WaitForNotes(page, 5);
        Assert.Equal("Петя Соколов: Ход конём", (await Notes(page))[4].GetProperty("body").GetString());
        await Expect(page).ToHaveTitleAsync($"(1) {Title}");
        await page.EvaluateAsync("() => window.__setHidden(false)");
        await Expect(page).ToHaveTitleAsync(Title);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notes[4].closed"));
        Assert.Equal(5, (await Notes(page)).Length);

        // Signing out closes what is still on screen (the next person at this computer must not find her messages).
        await School.SendAsync(petya, classChat, "Завтра физкультура на улице");
        await WaitForNotes(page, 6);
        Assert.False(await page.EvaluateAsync<bool>("() => window.__notes[3].closed || window.__notes[5].closed"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(page.GetByLabel("Телефон или e-mail")).ToBeVisibleAsync();
        // Each chat's last one (a newer one of the same tag replaces the older in the system; the recorder keeps both).
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notes[3].closed && window.__notes[5].closed"));
    }

    [Fact]
    public async Task BrowserRefusesPermission_SwitchStaysOff_WithReason_NothingNotified()
    {
        var school = await Scene.SchoolAsync("Школа №52");
        var classId = await school.ClassAsync("7Д");
        var masha = await school.PupilAsync("Маша Белова", classId);
        var petya = await school.PupilAsync("Петя Белов", classId);
        var classChat = await School.ChatIdAsync(petya, school.Id, "7Д");

        // No permission granted to this context: the browser refuses the request.
        var page = await PageAsync(Phone);
        await page.Context.AddInitScriptAsync(RecordNotifications);
        await SignInAsync(page, masha.Phone);
        await Expect(ChatItem(page, "7Д")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        var toggle = page.GetByRole(AriaRole.Switch, new() { Name = "Уведомления на этом устройстве" });
        await toggle.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "уведомления" })).ToContainTextAsync("Браузер");
        await Expect(toggle).Not.ToBeCheckedAsync();
        await Expect(toggle).ToBeFocusedAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('chat.notifications')"));

        // Still counted in the title, never notified.
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        await School.SendAsync(petya, classChat, "Привет");
        await Expect(ChatItem(page, "7Д").Locator(".badge")).ToHaveTextAsync("1");
        await Expect(page).ToHaveTitleAsync($"(1) {Title}");
        Assert.Empty(await Notes(page));
    }

    [Fact]
    public async Task ParentInTwoSchools_OtherSchoolsMessage_CountedOnSchoolButton_Notified_ReadElsewhereClears_ClickSwitchesSchool()
    {
        var (lyceum, gymnasium, mother) = await ParentInTwoSchoolsAsync("Школа №53", "Гимназия №8", "Смирнов");
        var channel = await School.ChatIdAsync(gymnasium.Admin, gymnasium.Id, "Общешкольный канал");

        var page = await PageAsync(Desktop);
        await page.Context.GrantPermissionsAsync(["notifications"], new() { Origin = App.BaseUrl });
        await page.Context.AddInitScriptAsync(RecordNotifications);
        await SignInAsync(page, mother.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Школа №53" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        var toggle = page.GetByRole(AriaRole.Switch, new() { Name = "Уведомления на этом устройстве" });
        await toggle.ClickAsync();
        await Expect(toggle).ToBeCheckedAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        var switchSchool = page.Locator(".topbar button", new() { HasText = "Сменить школу" });
        await Expect(switchSchool.Locator(".badge")).ToHaveCountAsync(0);
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1); // the push needs the live connection

        // The other school's channel: not in this list, but counted on «Сменить школу» and in the title, and notified
        // with the school's name.
        await School.SendAsync(gymnasium.Admin, channel, "Родительское собрание 7Б в четверг в 18:00");
        await WaitForNotes(page, 1);
        var note = (await Notes(page))[0];
        Assert.Equal("Общешкольный канал · Гимназия №8", note.GetProperty("title").GetString());
        Assert.Equal("Анна Администратор: Родительское собрание 7Б в четверг в 18:00", note.GetProperty("body").GetString());
        await Expect(switchSchool.Locator(".badge")).ToHaveTextAsync("1");
        await Expect(switchSchool.Locator(".badge")).ToHaveAttributeAsync("aria-label", "1 непрочитанное в других школах");
        await Expect(page).ToHaveTitleAsync($"(1) {Title}");
        await Expect(ChatItem(page, "Общешкольный канал")).Not.ToContainTextAsync("Родительское собрание");

        // Read on her phone: the count goes here too, and the notification is closed.
        await Scene.Read(await mother.Http.PostAsJsonAsync($"/api/chats/{channel}/read", new { seq = 1000 }));
        await Expect(switchSchool.Locator(".badge")).ToHaveCountAsync(0);
        await Expect(page).ToHaveTitleAsync(Title);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notes[0].closed"));

        // A click on the next one switches to that school and opens the channel there.
        await School.SendAsync(gymnasium.Admin, channel, "Фотографии с осеннего бала");
        await WaitForNotes(page, 2);
        await page.EvaluateAsync("() => window.__notes[1].click()");
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Гимназия №8");
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("Общешкольный канал");
        await Expect(Message(page, "Фотографии с осеннего бала")).ToBeVisibleAsync();
        await Expect(page).ToHaveTitleAsync(Title);

        // Back in the lyceum, a broadcast planned in the gymnasium's channel is about to start: its reminder names the
        // chat with its school, and a click on it switches to that school and opens the channel.
        await page.Locator(".topbar button", new() { HasText = "Сменить школу" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Школа №53" }).ClickAsync();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Школа №53");
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
        await App.ExecuteSqlAsync(
            "INSERT INTO call_plans (id, chat_id, host_id, kind, title, starts_at) VALUES (gen_random_uuid(), @channel, @host, 'broadcast', 'Линейка', now() + interval '50 seconds')",
            new { channel, host = gymnasium.Admin.Id });
        var toast = page.Locator(".toast.call-reminder");
        await Expect(toast).ToContainTextAsync("Линейка", new() { Timeout = 20_000 });
        await Expect(toast).ToContainTextAsync("Общешкольный канал · Гимназия №8");
        await toast.Locator(".toast-open").ClickAsync();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Гимназия №8");
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("Общешкольный канал");
    }

    [Fact]
    public async Task ParentInTwoSchools_ABroadcastGoesOnInTheOtherSchool_MarkedOnTheSchoolButton_UntilItEnds()
    {
        var (_, gymnasium, mother) = await ParentInTwoSchoolsAsync("Школа №54", "Гимназия №9", "Кузнецов");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, mother.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Школа №54" }).ClickAsync();
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
        var mark = page.Locator(".topbar button", new() { HasText = "Сменить школу" }).GetByRole(AriaRole.Img, new() { Name = "идёт трансляция в другой школе" });
        await Expect(mark).ToHaveCountAsync(0);

        var admin = await PageAsync(Desktop);
        await SignInAsync(admin, gymnasium.Admin.Phone);
        await OpenChatAsync(admin, "Общешкольный канал");
        var host = await admin.RunAndWaitForPopupAsync(() => admin.GetByRole(AriaRole.Link, new() { Name = "Начать трансляцию" }).ClickAsync());
        await Expect(host.Locator("#participants")).ToContainTextAsync("(вы)");
        await Expect(mark).ToHaveCountAsync(1);

        // Also from the list itself: a page opened while it goes on.
        await page.ReloadAsync();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Школа №54"); // the school chosen is remembered
        await Expect(mark).ToHaveCountAsync(1);

        await EndCallForAllAsync(host);
        await Expect(mark).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ParentInTwoSchools_SchoolChoice_MarksTheSchoolWhereABroadcastGoesOn()
    {
        var (_, gymnasium, mother) = await ParentInTwoSchoolsAsync("Школа №56", "Гимназия №10", "Зайцев");
        var admin = await PageAsync(Desktop);
        await SignInAsync(admin, gymnasium.Admin.Phone);
        await OpenChatAsync(admin, "Общешкольный канал");
        var host = await admin.RunAndWaitForPopupAsync(() => admin.GetByRole(AriaRole.Link, new() { Name = "Начать трансляцию" }).ClickAsync());
        await Expect(host.Locator("#participants")).ToContainTextAsync("(вы)");

        // The mother signs in while it goes on: the choice of school marks the gymnasium, as «Сменить школу» would.
        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        var lyceumButton = page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Школа №56") });
        var gymnasiumButton = page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Гимназия №10") });
        var mark = gymnasiumButton.GetByRole(AriaRole.Img, new() { Name = "идёт трансляция" });
        await Expect(mark).ToHaveCountAsync(1);
        await Expect(mark).ToHaveAttributeAsync("title", "идёт трансляция");
        await Expect(lyceumButton.GetByRole(AriaRole.Img)).ToHaveCountAsync(0);

        // Ended (and a message after it), it is not marked the next time the choice opens: the unread count there says
        // the chats were read again.
        await EndCallForAllAsync(host);
        await Expect(host.Locator("#status")).ToHaveTextAsync("Звонок завершён.");
        var channel = await School.ChatIdAsync(gymnasium.Admin, gymnasium.Id, "Общешкольный канал");
        await School.SendAsync(gymnasium.Admin, channel, "Спасибо, что смотрели!");
        await lyceumButton.ClickAsync();
        await page.Locator(".topbar button", new() { HasText = "Сменить школу" }).ClickAsync();
        await Expect(gymnasiumButton.Locator(".badge")).ToHaveCountAsync(1);
        await Expect(mark).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ParentInTwoSchools_SchoolChoice_ShowsEachSchoolsUnreadOfChatsNotMuted()
    {
        var (lyceum, gymnasium, mother) = await ParentInTwoSchoolsAsync("Школа №55", "Гимназия №9", "Крылов");
        var teacher = await lyceum.TeacherAsync("Нина Ивановна");
        var trip = (await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{lyceum.Id}/chats",
            new { kind = "group", title = "Экскурсия", memberIds = new[] { mother.Id } }))).GetProperty("id").GetGuid();
        var lyceumChannel = await School.ChatIdAsync(lyceum.Admin, lyceum.Id, "Общешкольный канал");
        var gymnasiumChannel = await School.ChatIdAsync(gymnasium.Admin, gymnasium.Id, "Общешкольный канал");

        // The lyceum: one unread in the group, two in the channel she muted (not counted); the gymnasium: three.
        await School.SendAsync(teacher, trip, "Сбор у школы в 9:00");
        await App.ExecuteSqlAsync("UPDATE chat_members SET muted_until = now() + interval '1 year' WHERE chat_id = @lyceumChannel AND account_id = @id",
            new { lyceumChannel, id = mother.Id });
        await School.SendAsync(lyceum.Admin, lyceumChannel, "Каникулы с 28 октября");
        await School.SendAsync(lyceum.Admin, lyceumChannel, "Субботник в пятницу");
        foreach (var text in new[] { "Собрание в четверг", "Фотографии с бала", "Новое расписание" })
        {
            await School.SendAsync(gymnasium.Admin, gymnasiumChannel, text);
        }

        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        var lyceumButton = page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Школа №55") });
        var gymnasiumButton = page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Гимназия №9") });
        await Expect(lyceumButton.Locator(".badge")).ToHaveTextAsync("1");
        await Expect(gymnasiumButton.Locator(".badge")).ToHaveTextAsync("3");
        await Expect(gymnasiumButton.Locator(".badge")).ToHaveAttributeAsync("aria-label", "3 непрочитанных");
        await Screenshot(page, "school-choice-unread-phone");

        // Read in the gymnasium: back on the choice, only the lyceum has something unread.
        await gymnasiumButton.ClickAsync();
        await OpenChatAsync(page, "Общешкольный канал");
        await Expect(Message(page, "Новое расписание")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await Expect(ChatItem(page, "Общешкольный канал").Locator(".badge")).ToHaveCountAsync(0);
        for (var deadline = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(100)) // MarkRead reaches the server
        {
            var chat = await Scene.Read(await mother.Http.GetAsync($"/api/chats/{gymnasiumChannel}"));
            if (chat.GetProperty("chat").GetProperty("unreadCount").GetInt32() == 0)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "MarkRead did not reach the server");
        }

        await page.Locator(".topbar button", new() { HasText = "Сменить школу" }).ClickAsync();
        await Expect(lyceumButton.Locator(".badge")).ToHaveTextAsync("1");
        await Expect(gymnasiumButton.Locator(".badge")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task CallReminder_ChatNotOpen_Notifies_ClickOpensChatWithJoin_OpenChatSilent_HiddenTabNotifies()
    {
        var school = await Scene.SchoolAsync("Школа №54");
        var classId = await school.ClassAsync("8В");
        var teacher = await school.TeacherAsync("Ирина Сергеевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Дима Орлов", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "8В");

        // Notifications switched on on this device (the switch itself is tested above), the browser allows them.
        var page = await PageAsync(Desktop);
        await page.Context.GrantPermissionsAsync(["notifications"], new() { Origin = App.BaseUrl });
        await page.Context.AddInitScriptAsync(RecordNotifications);
        await page.Context.AddInitScriptAsync(ControlVisibility);
        await page.Context.AddInitScriptAsync("localStorage.setItem('chat.notifications', 'on')");
        await SignInAsync(page, pupil.Phone);
        await Expect(ChatItem(page, "8В")).ToBeVisibleAsync();
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);

        // A lesson planned to start in 50 seconds: the test server reminds a minute ahead, so «soon» goes out at once.
        var physics = Guid.NewGuid();
        Task<int> Plan(Guid id, string title) => App.ExecuteSqlAsync(
            "INSERT INTO call_plans (id, chat_id, host_id, kind, title, starts_at) VALUES (@id, @chatId, @host, 'lesson', @title, now() + interval '50 seconds')",
            new { id, chatId, host = teacher.Id, title });
        await Plan(physics, "Физика");

        // No chat open: the toast, and a system notification of the plan.
        await WaitForNotes(page, 1);
        AssertNote((await Notes(page))[0], "Урок через 1 минуту", "Физика · 8В", $"call-{physics}");
        await Expect(page.Locator(".toast.call-reminder")).ToContainTextAsync("Через 1 минуту: Физика");

        // Its click opens the chat, where the reminder has «Подключиться»; the notification is closed.
        await page.EvaluateAsync("() => window.__notes[0].click()");
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("8В");
        var banner = page.Locator(".banner.call-reminder");
        await Expect(banner).ToContainTextAsync("Через 1 минуту: Физика");
        await Expect(banner.GetByRole(AriaRole.Link, new() { Name = "Подключиться" })).ToHaveAttributeAsync("href", $"/call.html#plan={physics}&autostart=1");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notes[0].closed"));

        // The start, with the chat open in a visible tab: the banner says it, no notification.
        await App.ExecuteSqlAsync("UPDATE call_plans SET starts_at = now() WHERE id = @physics", new { physics });
        await Expect(banner).ToContainTextAsync("Начинается: Физика");
        Assert.Single(await Notes(page));

        // The tab in the background: the next lesson's reminder notifies although its chat is open.
        await page.EvaluateAsync("() => window.__setHidden(true)");
        var chemistry = Guid.NewGuid();
        await Plan(chemistry, "Химия");
        await WaitForNotes(page, 2);
        AssertNote((await Notes(page))[1], "Урок через 1 минуту", "Химия · 8В", $"call-{chemistry}");
    }

    /// <summary>Two schools and a mother (Ольга &lt;surname&gt;а) with a son in the first's 3А and a daughter in the second's 7Б.</summary>
    [Fact]
    public async Task TeacherApprovedInASecondSchool_WhileThePageIsOpen_IsToldAndCanSwitch_MadeAdminThere_ThenLetGo()
    {
        var school = await Scene.SchoolAsync("Школа №78");
        await school.ClassAsync("4А");
        var teacher = await school.TeacherAsync("Вера Павловна");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await Expect(ChatItem(page, "Учительская")).ToBeVisibleAsync();
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
        var switchSchool = page.Locator(".topbar button", new() { HasText = "Сменить школу" });
        await Expect(switchSchool).ToBeHiddenAsync();

        // She asks to join a second school by its teacher link; its admin approves while her page is open.
        var lyceum = await Scene.SchoolAsync("Лицей №12");
        var invite = await lyceum.InviteAsync("teacher");
        var accepted = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/invites/{invite.GetProperty("token").GetString()}/accept", new { }));
        Assert.Equal("pending", accepted.GetProperty("status").GetString());
        await Scene.Read(await lyceum.Admin.Http.PostAsJsonAsync(
            $"/api/schools/{lyceum.Id}/join-requests/{accepted.GetProperty("joinRequestId").GetGuid()}/approve", new { }));

        await Expect(page.Locator(".toast.notice")).ToContainTextAsync("Вас приняли в школу «Лицей №12». Перейти в неё — «Сменить школу».");
        await Expect(switchSchool).ToBeVisibleAsync();
        await switchSchool.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Школа №78" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Лицей №12" }).ClickAsync();
        await Expect(ChatItem(page, "Учительская")).ToBeVisibleAsync();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Лицей №12");
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);

        // The lyceum makes her an admin: «Управление школой» appears without a reload, the open chat stays open.
        await OpenChatAsync(page, "Учительская");
        var manage = page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" });
        await Expect(manage).ToHaveCountAsync(0);
        (await lyceum.Admin.Http.PutAsync($"/api/schools/{lyceum.Id}/admins/{teacher.Id}", null)).EnsureSuccessStatusCode();
        await Expect(manage).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(page.Locator(".pane h2")).ToHaveTextAsync("Учительская");

        // The lyceum lets her go: the page leaves it for the school she still has.
        (await lyceum.Admin.Http.PostAsJsonAsync($"/api/schools/{lyceum.Id}/staff/{teacher.Id}/leave", new { reason = "Перевод в другую школу" })).EnsureSuccessStatusCode();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Школа №78", new() { Timeout = 15_000 });
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Вы больше не состоите в школе «Лицей №12»." })).ToBeVisibleAsync();
        await Expect(switchSchool).ToBeHiddenAsync();
    }

    [Fact]
    public async Task ParentInTwoSchools_PicksASchool_OpensTheProfileBeforeItsChatsLoad_StaysInTheProfile_BackGoesToTheSchool()
    {
        var (_, _, mother) = await ParentInTwoSchoolsAsync("Школа №57", "Гимназия №10", "Орлов");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, mother.Phone);
        var pick = page.GetByRole(AriaRole.Button, new() { Name = "Школа №57" });
        await Expect(pick).ToBeVisibleAsync();

        // A slow network: the school's loading is held until the profile is open.
        var hold = new TaskCompletionSource();
        await page.RouteAsync("**/api/me/schools", async route =>
        {
            await hold.Task;
            await route.ContinueAsync();
        });
        await pick.ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        var toggle = page.GetByRole(AriaRole.Switch, new() { Name = "Уведомления на этом устройстве" });
        await Expect(toggle).ToBeVisibleAsync();
        hold.SetResult();
        await page.UnrouteAllAsync(new() { Behavior = UnrouteBehavior.Wait });

        // The school's chats arrive after she went to the profile: she stays there (before, the chat screen replaced it).
        await page.EvaluateAsync("() => new Promise(resolve => setTimeout(resolve, 500))");
        await Expect(toggle).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        await Expect(page.Locator(".topbar button", new() { HasText = "Сменить школу" })).ToBeVisibleAsync();
        await Expect(page.Locator(".chat-item").First).ToBeVisibleAsync();
    }

    private async Task<(School First, School Second, ApiUser Mother)> ParentInTwoSchoolsAsync(string first, string second, string surname)
    {
        var lyceum = await Scene.SchoolAsync(first);
        var gymnasium = await Scene.SchoolAsync(second);
        var son = await lyceum.PupilAsync($"Вова {surname}", await lyceum.ClassAsync("3А"));
        var daughter = await gymnasium.PupilAsync($"Катя {surname}а", await gymnasium.ClassAsync("7Б"));
        var mother = await lyceum.ParentAsync($"Ольга {surname}а", son.Id);
        await gymnasium.JoinAsync(mother, "parent", childId: daughter.Id);
        return (lyceum, gymnasium, mother);
    }

    private static async Task SendFileAsync(ApiUser who, Guid schoolId, Guid chatId, string name, byte[] bytes) =>
        await School.SendFilesAsync(who, chatId, [await School.UploadAsync(who, schoolId, name, bytes)]);

    private static void AssertNote(JsonElement note, string title, string body, string tag)
    {
        Assert.Equal(title, note.GetProperty("title").GetString());
        Assert.Equal(body, note.GetProperty("body").GetString());
        Assert.Equal(tag, note.GetProperty("tag").GetString());
    }

    /// <summary>As Chrome on Android: <c>new Notification()</c> throws; only a service worker shows notifications.</summary>
    private const string AndroidNotifications = """
        (() => {
          const Real = window.Notification;
          class WorkerOnly {
            constructor() { throw new TypeError("Failed to construct 'Notification': Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead."); }
            static get permission() { return Real.permission; }
            static requestPermission() { return Real.requestPermission(); }
          }
          window.Notification = WorkerOnly;
        })();
        """;

    /// <summary>
    /// A parent on Chrome for Android, where a page may not construct a notification: the messenger shows it through its
    /// service worker instead (it used to show nothing while the profile said «Уведомления включены»), reading the chat
    /// closes it, and a click on it (the worker's message) opens the chat.
    /// </summary>
    [Fact]
    public async Task AndroidChrome_NotificationShownThroughTheServiceWorker_ReadingClosesIt_ItsClickOpensTheChat()
    {
        var school = await Scene.SchoolAsync("Школа №58");
        var classId = await school.ClassAsync("2В");
        var pupil = await school.PupilAsync("Алиса Морозова", classId);
        var mother = await school.ParentAsync("Нина Морозова", pupil.Id);
        var teacher = await school.TeacherAsync("Галина Петровна", classTeacherOf: classId);
        var parents = await School.ChatIdAsync(teacher, school.Id, "Родители 2В");

        var page = await PageAsync(Phone);
        await page.Context.GrantPermissionsAsync(["notifications"], new() { Origin = App.BaseUrl });
        await page.Context.AddInitScriptAsync(AndroidNotifications);
        await page.Context.AddInitScriptAsync(ControlVisibility);
        await SignInAsync(page, mother.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        await page.GetByRole(AriaRole.Switch, new() { Name = "Уведомления на этом устройстве" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Уведомления включены." })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        await Expect(ChatItem(page, "Родители 2В")).ToBeVisibleAsync();
        await page.EvaluateAsync("() => window.__setHidden(true)");

        await School.SendAsync(teacher, parents, "Завтра родительское собрание в 18:00");
        const string Shown = "async () => { const r = await navigator.serviceWorker.getRegistration(); return r ? (await r.getNotifications()).map(n => ({ title: n.title, body: n.body, tag: n.tag })) : []; }";
        JsonElement[] shown = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(15); shown.Length == 0; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "no notification through the service worker");
            shown = [.. (await page.EvaluateAsync<JsonElement>(Shown)).EnumerateArray()];
        }

        var note = Assert.Single(shown);
        Assert.Equal("Родители 2В", note.GetProperty("title").GetString());
        Assert.Equal("Галина Петровна: Завтра родительское собрание в 18:00", note.GetProperty("body").GetString());
        Assert.Equal($"chat-{parents}", note.GetProperty("tag").GetString());

        // Its click reaches the page as the worker's message: the chat opens (and, read, its notification goes).
        await page.EvaluateAsync("chatId => navigator.serviceWorker.dispatchEvent(new MessageEvent('message', { data: { type: 'open-chat', chatId } }))", parents.ToString());
        await page.EvaluateAsync("() => window.__setHidden(false)");
        await Expect(page.Locator(".msg .text", new() { HasText = "Завтра родительское собрание в 18:00" })).ToBeVisibleAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(15); (await page.EvaluateAsync<JsonElement>(Shown)).GetArrayLength() > 0; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the read chat's notification is still shown");
        }
    }

    /// <summary>
    /// A parent with children in two schools, on Chrome for Android: a notification of the other school's channel stays in
    /// the phone's shade after the tab is closed. Its click (no page left: the worker opens one) must land in that school
    /// and that chat, not on the first school's list: the notification carries both, and the address the worker opens
    /// (<c>/?chat=…&amp;school=…</c>, sw.js) opens the chat there.
    /// </summary>
    [Fact]
    public async Task AndroidChrome_OtherSchoolsNotification_ClickedAfterTheTabClosed_OpensThatSchoolsChat()
    {
        var (_, gymnasium, mother) = await ParentInTwoSchoolsAsync("Школа №59", "Гимназия №11", "Лебедев");
        var channel = await School.ChatIdAsync(gymnasium.Admin, gymnasium.Id, "Общешкольный канал");

        var page = await PageAsync(Phone);
        await page.Context.GrantPermissionsAsync(["notifications"], new() { Origin = App.BaseUrl });
        await page.Context.AddInitScriptAsync(AndroidNotifications);
        await page.Context.AddInitScriptAsync(ControlVisibility);
        await SignInAsync(page, mother.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Школа №59" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        await page.GetByRole(AriaRole.Switch, new() { Name = "Уведомления на этом устройстве" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Уведомления включены." })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Школа №59");
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
        await page.EvaluateAsync("() => window.__setHidden(true)");

        await School.SendAsync(gymnasium.Admin, channel, "Экскурсия 7Б переносится на пятницу");
        const string Data = "async () => { const r = await navigator.serviceWorker.getRegistration(); return r ? (await r.getNotifications()).map(n => n.data) : []; }";
        JsonElement[] shown = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(15); shown.Length == 0; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "no notification through the service worker");
            shown = [.. (await page.EvaluateAsync<JsonElement>(Data)).EnumerateArray()];
        }

        var data = Assert.Single(shown);
        Assert.Equal(channel, data.GetProperty("chatId").GetGuid());
        Assert.Equal(gymnasium.Id, data.GetProperty("schoolId").GetGuid());

        // The tab is closed; the worker's click opens the messenger at the notification's address. The click is the real
        // sw.js handler, run with no page left to focus (a test cannot click a system notification).
        var context = page.Context;
        await page.CloseAsync();
        var opened = await context.NewPageAsync();
        await opened.GotoAsync(App.BaseUrl);
        var address = await opened.EvaluateAsync<string>("""
            async data => {
              const code = await (await fetch('/sw.js')).text();
              const handlers = {};
              let opened = null;
              const worker = {
                addEventListener: (type, handler) => { handlers[type] = handler; },
                skipWaiting() {},
                clients: { claim: async () => {}, matchAll: async () => [], openWindow: async url => { opened = url; } },
              };
              new Function('self', code)(worker);
              let done;
              handlers.notificationclick({ notification: { close() {}, data }, waitUntil: p => { done = p; } });
              await done;
              return opened;
            }
            """, new { chatId = channel.ToString(), schoolId = gymnasium.Id.ToString() });
        Assert.Equal($"/?chat={channel}&school={gymnasium.Id}", address);
        await opened.GotoAsync(App.BaseUrl + address);
        await Expect(opened.Locator(".topbar .title")).ToHaveTextAsync("Гимназия №11");
        await Expect(opened.Locator(".chat-head h2")).ToHaveTextAsync("Общешкольный канал");
        await Expect(Message(opened, "Экскурсия 7Б переносится на пятницу")).ToBeVisibleAsync();
        Assert.Equal($"{App.BaseUrl}/", opened.Url); // the address is not kept: a reload shows the list as usual
    }

    private static Task WaitForNotes(IPage page, int count) =>
        page.WaitForFunctionAsync("n => window.__notes.length >= n", count);

    private static async Task<JsonElement[]> Notes(IPage page) =>
        [.. (await page.EvaluateAsync<JsonElement>("() => window.__notes.map(n => ({ title: n.title, body: n.body, tag: n.tag }))")).EnumerateArray()];
}
