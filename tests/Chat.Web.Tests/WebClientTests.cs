using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// The web client in a real browser against the real server: sign-in, school choice, invite links, chats, channels
/// and catching up after a lost connection. Every wait is on UI state (Playwright's auto-waiting assertions).
/// </summary>
[Collection(WebCollection.Name)]
public sealed class WebClientTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task SignIn_PickSchool_ClassChatMessage_ReachesClassmateLive()
    {
        var first = await Scene.SchoolAsync("Школа №5");
        var second = await Scene.SchoolAsync("Гимназия №2");
        var classA = await first.ClassAsync("5А");
        var masha = await first.PupilAsync("Маша Иванова", classA);
        await second.JoinAsync(masha, "student", await second.ClassAsync("7Б"));
        var petya = await first.PupilAsync("Петя Смирнов", classA);

        var mashaPage = await PageAsync(Desktop);
        await Screenshot(mashaPage, "sign-in-desktop");
        await SignInAsync(mashaPage, masha.Phone);
        await Expect(mashaPage.GetByRole(AriaRole.Heading, new() { Name = "Выберите школу" })).ToBeVisibleAsync();
        await Expect(mashaPage.GetByRole(AriaRole.Button, new() { Name = "Гимназия №2" })).ToBeVisibleAsync();
        await mashaPage.GetByRole(AriaRole.Button, new() { Name = "Школа №5" }).ClickAsync();
        await OpenChatAsync(mashaPage, "5А");

        var petyaPage = await PageAsync(Phone);
        await Screenshot(petyaPage, "sign-in-phone");
        await SignInAsync(petyaPage, petya.Phone);
        await Expect(ChatItem(petyaPage, "5А")).ToBeVisibleAsync();
        await Screenshot(petyaPage, "chat-list-phone");
        await OpenChatAsync(petyaPage, "5А");

        await SendAsync(mashaPage, "Привет! Кто сделал домашку по математике?");
        await Expect(Message(mashaPage, "Привет! Кто сделал домашку по математике?")).ToHaveCountAsync(1);
        await Expect(mashaPage.Locator(".msg.pending")).ToHaveCountAsync(0);
        await Expect(Message(petyaPage, "Привет! Кто сделал домашку по математике?")).ToHaveCountAsync(1);

        await SendAsync(petyaPage, "Я сделал, могу объяснить");
        await Expect(Message(mashaPage, "Я сделал, могу объяснить")).ToHaveCountAsync(1);
        await Expect(Message(petyaPage, "Я сделал, могу объяснить")).ToHaveCountAsync(1);
        await Screenshot(petyaPage, "chat-phone");
        await Screenshot(mashaPage, "chat-desktop");
    }

    [Fact]
    public async Task MessagesStoredTogether_ArriveAsOnePush_ShownInOrder()
    {
        var (chatId, pupils) = await ClassOfFourAsync("Школа №15");
        var page = await PageAsync(Phone);
        var pushes = new List<string>();
        page.WebSocket += (_, ws) => ws.FrameReceived += (_, f) => { if (f.Text is { } t) lock (pushes) pushes.Add(t); };
        await SignInAsync(page, pupils[0].Phone);
        await OpenChatAsync(page, "6Б");

        var order = await SendTogetherAsync(chatId, pupils);
        await Expect(page.Locator(".msg .text")).ToHaveTextAsync(order);
        lock (pushes)
        {
            Assert.Contains(pushes, p => p.Contains("\"target\":\"MessagesReceived\"", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task PushBeforeABatchLost_OneCatchUpFetchesTheBatch_ShownOnce()
    {
        var (chatId, pupils) = await ClassOfFourAsync("Школа №16");
        var page = await PageAsync(Phone);

        // Between the page and the server: the push of the first message is lost on the way; the page's GetUpdates
        // calls are counted.
        var catchUps = 0;
        await page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            var server = ws.ConnectToServer();
            server.OnMessage(frame =>
            {
                var records = frame.Text!.Split('\u001e').Where(r => !(r.Contains("\"MessageReceived\"", StringComparison.Ordinal) && r.Contains(FirstText, StringComparison.Ordinal)));
                ws.Send(string.Join('\u001e', records));
            });
            ws.OnMessage(frame =>
            {
                if (frame.Text!.Contains("\"GetUpdates\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref catchUps);
                }

                server.Send(frame.Text);
            });
        });
        await SignInAsync(page, pupils[0].Phone);
        await OpenChatAsync(page, "6Б");
        await Expect(page.Locator("#status")).ToBeHiddenAsync();
        var before = Volatile.Read(ref catchUps);

        // The batch that follows starts past a gap: one catch-up fetches the lost message and the batch, each shown once.
        var order = await SendTogetherAsync(chatId, pupils);
        await Expect(page.Locator(".msg .text")).ToHaveTextAsync(order);
        await Task.Delay(500);
        await Expect(page.Locator(".msg .text")).ToHaveTextAsync(order);
        Assert.Equal(1, Volatile.Read(ref catchUps) - before);
    }

    private const string FirstText = "Кто дежурит завтра?";

    private async Task<(Guid ChatId, List<ApiUser> Pupils)> ClassOfFourAsync(string schoolName)
    {
        var school = await Scene.SchoolAsync(schoolName);
        var classId = await school.ClassAsync("6Б");
        var pupils = new List<ApiUser>();
        foreach (var name in new[] { "Вика Зайцева", "Лёша Белов", "Таня Крылова", "Саша Орехов" })
        {
            pupils.Add(await school.PupilAsync(name, classId));
        }

        return (await School.ChatIdAsync(pupils[0], school.Id, "6Б"), pupils);
    }

    /// <summary>
    /// Three classmates write while the first one's message is being stored: theirs are stored together next (one
    /// batch, pushed as one MessagesReceived). Returns the texts in the chat's order (which of the three came first is
    /// the server's to say).
    /// </summary>
    private async Task<string[]> SendTogetherAsync(Guid chatId, List<ApiUser> pupils)
    {
        var texts = new[] { FirstText, "Я и Саша", "Да, мы", "Возьмите тряпки" };
        List<Task> sends;
        await using (var hold = await App.HoldChatAsync(chatId))
        {
            sends = [School.SendAsync(pupils[1], chatId, texts[0])];
            await hold.WaitUntilHeldUpAsync();
            sends.Add(School.SendAsync(pupils[2], chatId, texts[1]));
            sends.Add(School.SendAsync(pupils[3], chatId, texts[2]));
            sends.Add(School.SendAsync(pupils[0], chatId, texts[3]));
            await Task.Delay(300);
        }

        await Task.WhenAll(sends);
        var stored = await Scene.Read(await pupils[0].Http.GetAsync($"/api/chats/{chatId}/messages"));
        var order = stored.EnumerateArray().OrderBy(m => m.GetProperty("seq").GetInt64()).Select(m => m.GetProperty("text").GetString()!).ToArray();
        Assert.Equal(texts.Order(), order.Order());
        Assert.Equal(texts[0], order[0]);
        return order;
    }

    [Fact]
    public async Task NewAccount_InviteLink_ShowsSchoolRoleAndClass_ThenJoins()
    {
        var school = await Scene.SchoolAsync("Лицей №7");
        var classId = await school.ClassAsync("6В");
        var invite = await school.InviteAsync("student", classId);

        var page = await PageAsync(Phone);
        await page.GotoAsync($"{App.BaseUrl}/join/{invite.GetProperty("token").GetString()}");
        await SignInAsync(page, Scene.NewPhone(), goTo: false);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Как вас зовут?" })).ToBeVisibleAsync();
        await page.GetByLabel("Имя и фамилия").FillAsync("Коля Новиков");
        await page.GetByRole(AriaRole.Button, new() { Name = "Продолжить" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Приглашение в школу" })).ToBeVisibleAsync();
        var facts = page.Locator("dl.facts");
        await Expect(facts).ToContainTextAsync("Лицей №7");
        await Expect(facts).ToContainTextAsync("ученик");
        await Expect(facts).ToContainTextAsync("6В");
        await Screenshot(page, "invite-phone");
        await page.GetByRole(AriaRole.Button, new() { Name = "Принять приглашение" }).ClickAsync();
        await Expect(ChatItem(page, "6В")).ToBeVisibleAsync();

        // A class-wide parent link asks for the child's name and always goes through approval.
        var parentLink = await school.InviteAsync("parent", classId);
        var parentPage = await PageAsync(Desktop);
        await parentPage.GotoAsync($"{App.BaseUrl}/join/{parentLink.GetProperty("token").GetString()}");
        await SignInAsync(parentPage, Scene.NewPhone(), goTo: false);
        await parentPage.GetByLabel("Имя и фамилия").FillAsync("Ольга Новикова");
        await parentPage.GetByRole(AriaRole.Button, new() { Name = "Продолжить" }).ClickAsync();
        await Expect(parentPage.Locator("dl.facts")).ToContainTextAsync("родитель");
        await parentPage.GetByLabel("Имя и фамилия ребёнка").FillAsync("Коля Новиков");
        await parentPage.GetByRole(AriaRole.Button, new() { Name = "Принять приглашение" }).ClickAsync();
        await Expect(parentPage.GetByRole(AriaRole.Heading, new() { Name = "Заявка отправлена" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task ChatInviteLink_ShowsRules_JoiningOpensTheChat()
    {
        var school = await Scene.SchoolAsync("Школа №30");
        var pupil = await school.PupilAsync("Гоша Лебедев", await school.ClassAsync("11А"));
        var chat = await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "group", title = "Шахматный кружок", rules = "Без спама. Партии по средам." }));
        var invite = await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/chats/{chat.GetProperty("id").GetGuid()}/invites", new { }));

        var page = await PageAsync(Phone);
        await page.GotoAsync($"{App.BaseUrl}/join/{invite.GetProperty("token").GetString()}");
        await SignInAsync(page, pupil.Phone, goTo: false);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Приглашение в чат" })).ToBeVisibleAsync();
        await Expect(page.Locator("dl.facts")).ToContainTextAsync("Шахматный кружок");
        await Expect(page.Locator(".rules")).ToHaveTextAsync("Без спама. Партии по средам.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Принимаю правила и вступаю" }).ClickAsync();
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("Шахматный кружок");
        await SendAsync(page, "Всем привет, я с вами");
        await Expect(Message(page, "Всем привет, я с вами")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task ChatInviteDialog_ShowsQrCode_OnlyForTheChatsModerators()
    {
        var school = await Scene.SchoolAsync("Школа №35");
        var pupil = await school.PupilAsync("Лена Фролова", await school.ClassAsync("10А"));
        var chat = await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "group", title = "Театральная студия", memberIds = new[] { pupil.Id } }));
        var chatId = chat.GetProperty("id").GetGuid();

        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await OpenChatAsync(page, "Театральная студия");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Ссылка-приглашение" }).ClickAsync();
        var url = await page.GetByLabel("Ссылка в чат (с его правилами)").InputValueAsync();
        Assert.Contains("/join/", url, StringComparison.Ordinal);
        var qr = page.GetByRole(AriaRole.Img, new() { Name = "QR-код ссылки в чат" });
        await Expect(qr).ToBeVisibleAsync();
        await Expect(qr).ToHaveJSPropertyAsync("complete", true);
        Assert.True(await qr.EvaluateAsync<int>("img => img.naturalWidth") > 100);
        await Screenshot(page, "chat-invite-qr-desktop");

        // A plain member may not list the chat's links, nor get their QR codes.
        var invites = await Scene.Read(await school.Admin.Http.GetAsync($"/api/chats/{chatId}/invites"));
        var inviteId = invites.EnumerateArray().Single().GetProperty("id").GetGuid();
        using var denied = await pupil.Http.GetAsync($"/api/chats/{chatId}/invites/{inviteId}/qr");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.StatusCode);
    }

    [Fact]
    public async Task Parent_ReadsParentsChat()
    {
        var school = await Scene.SchoolAsync("Школа №12");
        var classId = await school.ClassAsync("3Б");
        var child = await school.PupilAsync("Соня Петрова", classId);
        var otherChild = await school.PupilAsync("Дима Козлов", classId);
        var parent = await school.ParentAsync("Елена Петрова", child.Id);
        var otherParent = await school.ParentAsync("Игорь Козлов", otherChild.Id);
        var parentsChat = await School.ChatIdAsync(otherParent, school.Id, "Родители 3Б");
        await School.SendAsync(otherParent, parentsChat, "Собрание в четверг в 18:00");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, parent.Phone);
        await Expect(ChatItem(page, "Родители 3Б").Locator(".badge")).ToHaveTextAsync("1");
        await OpenChatAsync(page, "Родители 3Б");
        await Expect(Message(page, "Собрание в четверг в 18:00")).ToHaveCountAsync(1);
        await Expect(page.Locator(".msg", new() { HasText = "Собрание в четверг" }).Locator(".who")).ToHaveTextAsync("Игорь Козлов");
        await Expect(ChatItem(page, "Родители 3Б").Locator(".badge")).ToHaveCountAsync(0);

        // The read mark reached the server: the parent's other devices see nothing unread.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await UnreadAsync(parent, school.Id, "Родители 3Б") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "MarkRead did not reach the server");
            await Task.Delay(100);
        }
    }

    private static async Task<int> UnreadAsync(ApiUser who, Guid schoolId, string title)
    {
        var chats = await Scene.Read(await who.Http.GetAsync($"/api/chats?schoolId={schoolId}"));
        return chats.EnumerateArray().First(c => c.GetProperty("title").GetString() == title).GetProperty("unreadCount").GetInt32();
    }

    [Fact]
    public async Task Admin_PostsInSchoolChannel_PupilSeesItAndCannotWrite()
    {
        var school = await Scene.SchoolAsync("Школа №3");
        var pupil = await school.PupilAsync("Вера Соколова", await school.ClassAsync("8А"));

        var adminPage = await PageAsync(Desktop);
        await SignInAsync(adminPage, school.Admin.Phone);
        await OpenChatAsync(adminPage, "Общешкольный канал");
        await SendAsync(adminPage, "Завтра линейка в 8:30");
        await Expect(Message(adminPage, "Завтра линейка в 8:30")).ToHaveCountAsync(1);

        var pupilPage = await PageAsync(Phone);
        await SignInAsync(pupilPage, pupil.Phone);
        await OpenChatAsync(pupilPage, "Общешкольный канал");
        await Expect(Message(pupilPage, "Завтра линейка в 8:30")).ToHaveCountAsync(1);
        await Expect(pupilPage.GetByText("В этом канале пишут только администраторы и назначенные ими авторы.")).ToBeVisibleAsync();
        await Expect(pupilPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToHaveCountAsync(0);
        await Screenshot(pupilPage, "channel-phone");
    }

    /// <summary>Records the hub methods whose invocation failed from now on in <c>window.refused</c> (e.g. no connection).</summary>
    private const string RecordRefusedHubCalls = """
        () => {
          const invoke = signalR.HubConnection.prototype.invoke;
          window.refused = [];
          signalR.HubConnection.prototype.invoke = function (method, ...args) {
            const answer = invoke.call(this, method, ...args);
            answer.catch(() => window.refused.push(method));
            return answer;
          };
        }
        """;

    [Fact]
    public async Task ReadWhileTheConnectionIsDown_IsSentOnceItIsBack()
    {
        var school = await Scene.SchoolAsync("Школа №10");
        var classId = await school.ClassAsync("8Д");
        var anya = await school.PupilAsync("Аня Жукова", classId);
        var boris = await school.PupilAsync("Борис Ким", classId);
        var chatId = await School.ChatIdAsync(boris, school.Id, "8Д");

        // The chat is open in a tab in the background: a classmate's message comes and stays unread.
        var page = await PageAsync(Desktop);
        await page.Context.AddInitScriptAsync(NotificationTests.ControlVisibility);
        await SignInAsync(page, anya.Phone);
        await OpenChatAsync(page, "8Д");
        await page.EvaluateAsync("() => window.__setHidden(true)");
        await School.SendAsync(boris, chatId, "Кто решил пятую задачу?");
        await Expect(Message(page, "Кто решил пятую задачу?")).ToHaveCountAsync(1);
        var badge = ChatItem(page, "8Д").Locator(".badge");
        await Expect(badge).ToHaveTextAsync("1");

        // Back in the tab while the connection is down: the page reads the message but cannot tell the server.
        await page.Context.SetOfflineAsync(true);
        await Expect(page.Locator("#status")).ToContainTextAsync("Нет сети");
        await page.EvaluateAsync(RecordRefusedHubCalls);
        await page.EvaluateAsync("() => window.__setHidden(false)");
        await page.WaitForFunctionAsync("() => window.refused.includes('MarkRead')");
        Assert.Equal(1, await UnreadAsync(anya, school.Id, "8Д"));

        // The connection back, the read goes: the count drops here and on the server.
        await page.Context.SetOfflineAsync(false);
        await Expect(page.Locator("#status")).ToBeHiddenAsync();
        await Expect(badge).ToHaveCountAsync(0);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await UnreadAsync(anya, school.Id, "8Д") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "MarkRead did not reach the server");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Reconnect_MessagesWhileOffline_ShownExactlyOnce_AndQueuedSendGoesOut()
    {
        var school = await Scene.SchoolAsync("Школа №9");
        var classId = await school.ClassAsync("9Г");
        var anya = await school.PupilAsync("Аня Морозова", classId);
        var boris = await school.PupilAsync("Борис Волков", classId);
        var chatId = await School.ChatIdAsync(boris, school.Id, "9Г");
        await School.SendAsync(boris, chatId, "Сообщение до обрыва");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, anya.Phone);
        await OpenChatAsync(page, "9Г");
        await Expect(Message(page, "Сообщение до обрыва")).ToHaveCountAsync(1);

        await page.Context.SetOfflineAsync(true);
        await Expect(page.Locator("#status")).ToContainTextAsync("Нет сети");
        await School.SendAsync(boris, chatId, "Пока тебя не было, задали параграф 12");
        await SendAsync(page, "Написано без сети");
        await Expect(page.Locator(".msg.pending", new() { HasText = "Написано без сети" })).ToHaveCountAsync(1);

        await page.Context.SetOfflineAsync(false);
        await Expect(page.Locator("#status")).ToBeHiddenAsync();
        await Expect(Message(page, "Пока тебя не было, задали параграф 12")).ToHaveCountAsync(1);
        await Expect(page.Locator(".msg.pending")).ToHaveCountAsync(0);
        await Expect(Message(page, "Написано без сети")).ToHaveCountAsync(1);

        // Live pushes go on after the reconnect, and nothing caught up is shown twice.
        await School.SendAsync(boris, chatId, "После возвращения связи");
        await Expect(Message(page, "После возвращения связи")).ToHaveCountAsync(1);
        await Expect(Message(page, "Сообщение до обрыва")).ToHaveCountAsync(1);
        await Expect(Message(page, "Пока тебя не было, задали параграф 12")).ToHaveCountAsync(1);
        await Expect(page.Locator(".msg")).ToHaveCountAsync(4);

        var history = await Scene.Read(await boris.Http.GetAsync($"/api/chats/{chatId}/messages"));
        Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Написано без сети");
    }

    [Fact]
    public async Task ChatView_History_Reply_Edit_Delete_Reactions_Typing_Members()
    {
        var school = await Scene.SchoolAsync("Школа №21");
        var classId = await school.ClassAsync("4А");
        await school.TeacherAsync("Татьяна Учительница", classTeacherOf: classId);
        var anya = await school.PupilAsync("Аня Морозова", classId);
        var boris = await school.PupilAsync("Борис Волков", classId);
        var chatId = await School.ChatIdAsync(boris, school.Id, "4А");
        for (var i = 1; i <= 60; i++)
        {
            await School.SendAsync(boris, chatId, $"Сообщение {i}");
        }

        var page = await PageAsync(Desktop);
        await SignInAsync(page, anya.Phone);
        await Expect(ChatItem(page, "4А").Locator(".badge")).ToHaveTextAsync("60");

        // Read up to the 55th on another device: five are left, so the chat opens with its newest page of 50 (more
        // unread would have made the page longer), the «Новые сообщения» line above the 56th.
        var newest = await Scene.Read(await anya.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var seq55 = newest.EnumerateArray().First(m => m.GetProperty("text").GetString() == "Сообщение 55").GetProperty("seq").GetInt64();
        await Scene.Read(await anya.Http.PostAsJsonAsync($"/api/chats/{chatId}/read", new { seq = seq55 }));
        await Expect(ChatItem(page, "4А").Locator(".badge")).ToHaveTextAsync("5");
        await OpenChatAsync(page, "4А");
        await Expect(page.Locator(".unread-line + .msg .text")).ToHaveTextAsync("Сообщение 56");
        await Expect(Message(page, "Сообщение 60")).ToHaveCountAsync(1);
        await Expect(Message(page, "Сообщение 11")).ToHaveCountAsync(1);
        await Expect(Message(page, "Сообщение 10")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Загрузить более ранние" }).ClickAsync();
        await Expect(Message(page, "Сообщение 1")).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Загрузить более ранние" })).ToBeHiddenAsync();
        await Expect(page.Locator(".msg")).ToHaveCountAsync(60);

        var borisPage = await PageAsync(Phone);
        await SignInAsync(borisPage, boris.Phone);
        await OpenChatAsync(borisPage, "4А");

        // Typing is shown to the others.
        await borisPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).PressSequentiallyAsync("Пиш");
        await Expect(page.Locator(".typing")).ToHaveTextAsync("Борис Волков печатает…");

        // A reply quotes the message it answers.
        await MessageCard(page, "Сообщение 60").GetByRole(AriaRole.Button, new() { Name = "Ответить" }).ClickAsync();
        await SendAsync(page, "Я тоже так думаю");
        await Expect(MessageCard(borisPage, "Я тоже так думаю").Locator(".quote")).ToContainTextAsync("Сообщение 60");

        // Editing one's own message changes it everywhere.
        await MessageCard(page, "Я тоже так думаю").GetByRole(AriaRole.Button, new() { Name = "Изменить" }).ClickAsync();
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await Expect(box).ToHaveValueAsync("Я тоже так думаю");
        await box.FillAsync("Я тоже так думаю, но не уверена");
        await box.PressAsync("Enter");
        await Expect(Message(borisPage, "Я тоже так думаю, но не уверена")).ToHaveCountAsync(1);
        await Expect(MessageCard(page, "Я тоже так думаю, но не уверена").Locator(".meta")).ToContainTextAsync("изменено");

        // A reaction is counted on both sides.
        await MessageCard(page, "Сообщение 59").GetByRole(AriaRole.Button, new() { Name = "Реакция" }).ClickAsync();
        await page.GetByRole(AriaRole.Group, new() { Name = "Выберите реакцию" }).GetByRole(AriaRole.Button, new() { Name = "👍" }).ClickAsync();
        await Expect(MessageCard(borisPage, "Сообщение 59").Locator(".reaction")).ToHaveTextAsync("👍 1");

        // Deleting one's own message asks first in the page's dialog (no native confirm): Escape keeps the message and
        // gives the focus back to «Удалить»; confirming leaves a tombstone everywhere.
        var delete = MessageCard(page, "Я тоже так думаю, но не уверена").GetByRole(AriaRole.Button, new() { Name = "Удалить" });
        await delete.ClickAsync();
        var sure = page.GetByRole(AriaRole.Dialog, new() { Name = "Удалить сообщение?" });
        await Expect(sure).ToContainTextAsync("удалится у всех участников чата");
        await Expect(sure.GetByRole(AriaRole.Button, new() { Name = "Отмена", Exact = true })).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(sure).ToHaveCountAsync(0);
        await Expect(delete).ToBeFocusedAsync();
        await Expect(page.Locator(".msg .text.deleted")).ToHaveCountAsync(0);
        await delete.ClickAsync();
        await sure.GetByRole(AriaRole.Button, new() { Name = "Удалить", Exact = true }).ClickAsync();
        await Expect(sure).ToHaveCountAsync(0);
        await Expect(Message(borisPage, "Я тоже так думаю, но не уверена")).ToHaveCountAsync(0);
        await Expect(borisPage.Locator(".msg .text.deleted")).ToHaveCountAsync(1);

        // The chat's rules and members, with the verified teacher's badge.
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        await Expect(panel.Locator("li", new() { HasText = "Татьяна Учительница" })).ToContainTextAsync("подтверждённый учитель");
        await Expect(panel.Locator("li", new() { HasText = "Борис Волков" })).Not.ToContainTextAsync("подтверждённый");
        await Screenshot(page, "chat-members-desktop");
    }

    [Fact]
    public async Task Admin_CreatesClass_InviteWithQr_ApprovesJoinRequest()
    {
        var school = await Scene.SchoolAsync("Школа №44");
        await school.PendingTeacherAsync("Николай Новый");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        await Expect(page.GetByLabel("Название")).ToHaveValueAsync("Школа №44");

        await page.GetByLabel("Новый класс").FillAsync("2А");
        await page.GetByRole(AriaRole.Button, new() { Name = "Создать класс" }).ClickAsync();
        await Expect(page.Locator("section[aria-labelledby=adm-classes] tr", new() { HasText = "2А" })).ToHaveCountAsync(1);

        await page.GetByLabel("Роль").SelectOptionAsync("student");
        await page.GetByLabel("Класс", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "2А" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Создать ссылку" }).ClickAsync();
        var row = page.Locator("section[aria-labelledby=adm-invites] tbody tr", new() { HasText = "2А" });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.GetByRole(AriaRole.Textbox)).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("/join/[A-Za-z0-9_-]{16,64}$"));
        await row.GetByRole(AriaRole.Button, new() { Name = "QR-код" }).ClickAsync();
        var qr = page.GetByRole(AriaRole.Img, new() { Name = "QR-код ссылки-приглашения" });
        await Expect(qr).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('img.qr')?.naturalWidth > 0");

        var request = page.Locator("section[aria-labelledby=adm-requests] tbody tr", new() { HasText = "Николай Новый" });
        await Expect(request).ToContainTextAsync("учитель");
        await Screenshot(page, "admin-desktop");
        await request.GetByRole(AriaRole.Button, new() { Name = "Одобрить" }).ClickAsync();
        await Expect(page.GetByText("Новых заявок нет.")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task ExpiredAccessToken_IsRefreshed_AndSignOutReturnsToSignIn()
    {
        var school = await Scene.SchoolAsync("Школа №8");
        var pupil = await school.PupilAsync("Лиза Орлова", await school.ClassAsync("10А"));

        var page = await PageAsync(Phone);
        await SignInAsync(page, pupil.Phone);
        await Expect(ChatItem(page, "10А")).ToBeVisibleAsync();

        // A broken access token is answered with 401; the client refreshes once and goes on.
        await page.EvaluateAsync("() => { const t = JSON.parse(localStorage.getItem('chat.tokens')); t.accessToken = 'broken'; localStorage.setItem('chat.tokens', JSON.stringify(t)); }");
        await page.ReloadAsync();
        await Expect(ChatItem(page, "10А")).ToBeVisibleAsync();
        Assert.NotEqual("broken", await page.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('chat.tokens')).accessToken"));

        await page.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('chat.tokens')"));
    }
}
