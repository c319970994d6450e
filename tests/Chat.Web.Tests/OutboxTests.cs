using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// The chat page on a bad day. The outbox of unsent messages (js/hub.js): slow mode in one chat does not hold back the
/// others, a refused message waits in its chat with «Повторить» and «Удалить» instead of vanishing, and a message whose
/// confirmation was lost is not shown twice. A chat list the server could not give is asked for again. A renewal of the
/// sign-in whose answer was lost is retried without ending the session.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class OutboxTests(WebApp app) : WebTest(app)
{
    /// <summary>Елена Смирнова, mother of Ваня (3А, whose class teacher is Ирина Викторовна) and Катя (5Б), in one school.</summary>
    private async Task<(School School, ApiUser Teacher, ApiUser Mother)> MotherOfTwoAsync(string schoolName)
    {
        var school = await Scene.SchoolAsync(schoolName);
        var class3 = await school.ClassAsync("3А");
        var class5 = await school.ClassAsync("5Б");
        var teacher = await school.TeacherAsync("Ирина Викторовна", classTeacherOf: class3);
        var son = await school.PupilAsync("Ваня Смирнов", class3);
        var daughter = await school.PupilAsync("Катя Смирнова", class5);
        var elena = await school.ParentAsync("Елена Смирнова", son.Id);
        await school.JoinAsync(elena, "parent", childId: daughter.Id);
        return (school, teacher, elena);
    }

    /// <summary>
    /// A teacher watches her poll in the parents' chat while her connection drops: two parents vote meanwhile (their
    /// PollUpdated pushes never reach her). After the reconnect the poll shows both votes, not the count of before.
    /// </summary>
    [Fact]
    public async Task PollWatchedThroughADrop_VotesCastMeanwhileShownAfterTheReconnect()
    {
        var school = await Scene.SchoolAsync("Школа №76");
        var classId = await school.ClassAsync("4В");
        var teacher = await school.TeacherAsync("Ольга Николаевна", classTeacherOf: classId);
        var first = await school.ParentAsync("Анна Зуева", (await school.PupilAsync("Лиза Зуева", classId)).Id);
        var second = await school.ParentAsync("Павел Ершов", (await school.PupilAsync("Миша Ершов", classId)).Id);
        var parents = await School.ChatIdAsync(teacher, school.Id, "Родители 4В");
        var poll = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/chats/{parents}/polls",
            new { clientId = Guid.NewGuid(), question = "Когда собрание?", options = new[] { "В среду", "В пятницу" } }));
        var seq = poll.GetProperty("seq").GetInt64();

        var page = await PageAsync(Phone);
        IWebSocketRoute? hub = null;
        var deaf = false; // the connection is gone: nothing reaches the page
        await ProxyHubAsync(page, toPage: _ => !Volatile.Read(ref deaf), opened: ws => hub = ws);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "Родители 4В");
        var total = page.Locator(".poll-total");
        await Expect(total).ToHaveTextAsync("Проголосовали: 0");

        Volatile.Write(ref deaf, true);
        await Scene.Read(await first.Http.PutAsJsonAsync($"/api/chats/{parents}/polls/{seq}/vote", new { optionIds = new[] { 0 } }));
        await Scene.Read(await second.Http.PutAsJsonAsync($"/api/chats/{parents}/polls/{seq}/vote", new { optionIds = new[] { 1 } }));
        await Task.Delay(1500); // the coalesced PollUpdated went out meanwhile, into nothing
        await Expect(total).ToHaveTextAsync("Проголосовали: 0");

        var dead = hub!;
        Volatile.Write(ref deaf, false);
        await dead.CloseAsync();
        await Expect(total).ToHaveTextAsync("Проголосовали: 2", new() { Timeout = 30_000 });
    }

    /// <summary>
    /// A teacher on 3G taps «Родители 5А» just as her connection dies (the page does not know yet): the chat cannot load
    /// and says so. Once the connection is back the chat loads by itself, the error line gone — before, it stayed empty
    /// until she opened another chat and came back.
    /// </summary>
    [Fact]
    public async Task ChatOpenedAsTheConnectionDies_LoadsByItselfAfterTheReconnect()
    {
        var school = await Scene.SchoolAsync("Школа №75");
        var classId = await school.ClassAsync("5А");
        var teacher = await school.TeacherAsync("Анна Сергеевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Дима Котов", classId);
        var mother = await school.ParentAsync("Ирина Котова", pupil.Id);
        var parents = await School.ChatIdAsync(mother, school.Id, "Родители 5А");
        await School.SendAsync(mother, parents, "Дима завтра не придёт, он заболел");

        var page = await PageAsync(Phone);
        var dropped = 0;
        await ProxyHubAsync(page, toServer: (ws, f) =>
        {
            if (f.Text is { } text && text.Contains("\"target\":\"GetChat\"", StringComparison.Ordinal) && Interlocked.Increment(ref dropped) == 1)
            {
                _ = ws.CloseAsync(); // the request never reaches the server; the page learns the connection is gone
                return false;
            }

            return true;
        });
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "Родители 5А");

        await Expect(Message(page, "Дима завтра не придёт, он заболел")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(page.Locator(".messages .error")).ToHaveCountAsync(0);
        Assert.True(dropped >= 2, $"GetChat asked {dropped} times: the first was lost, the chat was not asked again");
    }

    /// <summary>
    /// A server stored the teacher's messages and stopped before pushing them; her phone resends them (same client ids)
    /// to the server that took over. The parent's open chat shows hers at once, and the list the other one: the resend
    /// tells the chats they moved on (ChatAdvanced), and the page catches up rather than waiting for its next reconnect.
    /// </summary>
    [Fact]
    public async Task MessagesStoredButNeverPushed_AResendBringsThemToTheOpenChatAndTheList()
    {
        var (school, teacher, elena) = await MotherOfTwoAsync("Школа №74");
        var staffChannel = await School.ChatIdAsync(elena, school.Id, "Общешкольный канал");
        var chat3 = await School.ChatIdAsync(elena, school.Id, "Родители 3А");

        var page = await PageAsync(Desktop);
        var listReads = 0;
        await RouteHubAsync(page, toServer: r =>
        {
            if (Is(r, "target", "GetChats"))
            {
                Interlocked.Increment(ref listReads);
            }

            return true;
        });
        await SignInAsync(page, elena.Phone);
        await OpenChatAsync(page, "Родители 3А");
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeVisibleAsync();

        var store = App.Services.GetRequiredService<Chat.Storage.Messages.MessageStore>();
        async Task<Guid> StoredUnpushedThenResentAsync(ApiUser by, Guid chatId, string text)
        {
            var clientId = Guid.NewGuid();
            var stored = await store.AppendBatchAsync([new Chat.Storage.Messages.NewMessage(chatId, by.Id, clientId, "text", text, null, null, [])], CancellationToken.None);
            Assert.True(stored[0]!.Value.Created);
            await Scene.Read(await by.Http.PostAsJsonAsync($"/api/chats/{chatId}/messages", new { clientId, text }));
            return clientId;
        }

        await StoredUnpushedThenResentAsync(teacher, chat3, "Собрание в четверг в 18:00");
        await Expect(page.Locator(".msg .text", new() { HasText = "Собрание в четверг в 18:00" })).ToHaveCountAsync(1);
        var holidays = await StoredUnpushedThenResentAsync(school.Admin, staffChannel, "Каникулы с 28 октября");
        await Expect(ChatItem(page, "Общешкольный канал")).ToContainTextAsync("Каникулы с 28 октября");

        // Sent once more (the admin's phone never got the answer): the list has it already, so it is not read again.
        var reads = listReads;
        await Scene.Read(await school.Admin.Http.PostAsJsonAsync($"/api/chats/{staffChannel}/messages", new { clientId = holidays, text = "Каникулы с 28 октября" }));
        await Task.Delay(1000);
        Assert.Equal(reads, listReads);
        await Expect(page.Locator(".msg .text", new() { HasText = "Собрание в четверг в 18:00" })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task SlowModeHoldsOnlyItsChat_RefusedMessageWaitsWithRetryAndDelete_LostConfirmationLeavesNoCopy()
    {
        var (school, teacher, elena) = await MotherOfTwoAsync("Школа №73");
        var chat3 = await School.ChatIdAsync(elena, school.Id, "Родители 3А");
        var chat5 = await School.ChatIdAsync(elena, school.Id, "Родители 5Б");

        // The hub connection goes through a route that can drop the answer to one SendMessage (a lost confirmation).
        var page = await PageAsync(Desktop);
        var dropText = (string?)null;
        string? dropId = null;
        var blocked = false;
        IWebSocketRoute? hub = null;
        await page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            if (blocked)
            {
                _ = ws.CloseAsync();
                return;
            }

            hub = ws;
            var server = ws.ConnectToServer();
            ws.OnMessage(f =>
            {
                if (f.Text is not { } t)
                {
                    server.Send(f.Binary!);
                    return;
                }

                if (dropText is { } text && Records(t).FirstOrDefault(r => Is(r, "target", "SendMessage") && r.GetRawText().Contains(text, StringComparison.Ordinal)) is { ValueKind: JsonValueKind.Object } sent)
                {
                    dropId = sent.GetProperty("invocationId").GetString();
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

                var kept = Records(t).Where(r => !(dropId is { } id && r.TryGetProperty("type", out var type) && type.GetInt32() == 3 && Is(r, "invocationId", id))).Select(r => r.GetRawText() + "\u001e").ToList();
                if (kept.Count > 0)
                {
                    ws.Send(string.Concat(kept));
                }
            });
        });
        await SignInAsync(page, elena.Phone);

        // Slow mode in 3А's parents' chat: her second message there waits; what she writes to 5Б goes at once.
        await App.ExecuteSqlAsync("UPDATE chats SET slow_mode_seconds = 600 WHERE id = @chat3", new { chat3 });
        await AcceptRulesAsync(page, "Родители 5Б");
        await AcceptRulesAsync(page, "Родители 3А");
        await SendAsync(page, "Собрание в четверг?");
        await Expect(Message(page, "Собрание в четверг?")).ToBeVisibleAsync();
        await SendAsync(page, "И во сколько?");
        await Expect(page.Locator(".msg.pending", new() { HasText = "И во сколько?" })).ToContainTextAsync("Отправляется…");
        await OpenChatAsync(page, "Родители 5Б");
        await SendAsync(page, "Катя заболела");
        await Expect(Message(page, "Катя заболела")).ToBeVisibleAsync();
        await App.ExecuteSqlAsync("UPDATE chats SET slow_mode_seconds = 0 WHERE id = @chat3", new { chat3 });
        await OpenChatAsync(page, "Родители 3А");
        await Expect(Message(page, "И во сколько?")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(page.Locator(".msg.pending")).ToHaveCountAsync(0);

        // A moderator mutes her in 5Б's chat: her message is refused and stays there, saying why, with what to do.
        const string Mute = """
            INSERT INTO chat_restrictions (id, chat_id, account_id, kind, rule_id, reason, moderator_id, ends_at)
            SELECT gen_random_uuid(), @chat, @account, 'mute', r.id, 'Флуд', @moderator, now() + interval '1 hour'
            FROM school_rules r WHERE r.school_id = @school ORDER BY r.number LIMIT 1
            """;
        // She writes while her connection is down; meanwhile a moderator mutes her in 5Б's chat. Back online, the message
        // is refused: it stays in the chat, saying why, with «Повторить» and «Удалить».
        await OpenChatAsync(page, "Родители 5Б");
        async Task WriteOfflineAsync(string text)
        {
            blocked = true;
            await hub!.CloseAsync();
            await SendAsync(page, text);
            await Expect(page.Locator(".msg.pending", new() { HasText = text })).ToContainTextAsync("Отправляется…");
            await App.ExecuteSqlAsync(Mute, new { chat = chat5, account = elena.Id, moderator = teacher.Id, school = school.Id });
            blocked = false;
        }

        // The mute is lifted straight in the database (no push, unlike a moderator's «Разрешить писать»): the chat opened
        // again reads that she may write.
        async Task LiftMuteAsync()
        {
            await App.ExecuteSqlAsync("UPDATE chat_restrictions SET lifted_at = now() WHERE chat_id = @chat5", new { chat5 });
            await OpenChatAsync(page, "Родители 3А");
            await OpenChatAsync(page, "Родители 5Б");
            await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeVisibleAsync();
        }

        await WriteOfflineAsync("Можно вопрос?");
        var refused = page.Locator(".msg.pending.failed", new() { HasText = "Можно вопрос?" });
        await Expect(refused).ToContainTextAsync("Не отправлено: Модератор ограничил вам сообщения", new() { Timeout = 30_000 });
        await Expect(refused).Not.ToContainTextAsync("Z.");
        Assert.Contains("Можно вопрос?", await Outbox(page), StringComparison.Ordinal);
        // The mute given while she was offline is read again with the connection: the chat says so, no input box.
        var muted = page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Вы не можете писать в этом чате" });
        await Expect(muted).ToBeVisibleAsync();
        await LiftMuteAsync();
        await refused.GetByRole(AriaRole.Button, new() { Name = "Повторить" }).ClickAsync();
        await Expect(Message(page, "Можно вопрос?")).ToBeVisibleAsync();
        await Expect(page.Locator(".msg.pending")).ToHaveCountAsync(0);

        await WriteOfflineAsync("Лишнее сообщение");
        var extra = page.Locator(".msg.pending.failed", new() { HasText = "Лишнее сообщение" });
        await Expect(extra).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await extra.GetByRole(AriaRole.Button, new() { Name = "Удалить" }).ClickAsync();
        await Expect(page.Locator(".msg.pending")).ToHaveCountAsync(0);
        Assert.DoesNotContain("Лишнее", await Outbox(page), StringComparison.Ordinal);
        await LiftMuteAsync();

        // The confirmation of a message is lost on the way back: the message still arrives (pushed to the chat), and
        // the chat opened again shows it once, with no copy stuck on «Отправляется…».
        dropText = "Спасибо, поняла";
        await SendAsync(page, "Спасибо, поняла");
        await Expect(Message(page, "Спасибо, поняла")).ToBeVisibleAsync();
        Assert.NotNull(dropId);
        Assert.Contains("Спасибо, поняла", await Outbox(page), StringComparison.Ordinal);
        await OpenChatAsync(page, "Родители 3А");
        await OpenChatAsync(page, "Родители 5Б");
        await Expect(Message(page, "Спасибо, поняла")).ToHaveCountAsync(1);
        await Expect(page.Locator(".msg.pending")).ToHaveCountAsync(0);
        var history = await Scene.Read(await elena.Http.GetAsync($"/api/chats/{chat5}/messages"));
        Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Спасибо, поняла");

        // A refusal naming a field shows its reason in Russian, without the field's code name; a time in it (until
        // when a mute lasts) in local time, not as ISO 8601 UTC.
        var shown = await page.EvaluateAsync<string[]>("""
            async () => {
              const { hubError } = await import('/js/hub.js');
              const refusal = text => hubError(new Error('An unexpected error occurred invoking \'SendMessage\' on the server. HubException: ' + text));
              return [refusal('validation_failed: Сообщение длиннее 4000 символов. (text)').message,
                      refusal('member_muted: Модератор ограничил вам сообщения до 2026-12-01T09:00Z.').message];
            }
            """);
        Assert.Equal("Сообщение длиннее 4000 символов.", shown[0]);
        Assert.DoesNotContain("2026-12-01T09:00Z", shown[1], StringComparison.Ordinal);
        Assert.Contains("1 дек", shown[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerBusyWhenTheListIsAsked_ListStillComes_WithoutAReconnect()
    {
        var school = await Scene.SchoolAsync("Школа №74");
        var classId = await school.ClassAsync("4Б");
        var pupil = await school.PupilAsync("Лёва Гусев", classId);

        // The first GetChats is answered service_unavailable (the database restarting); the connection stays up.
        var page = await PageAsync(Phone);
        var refused = await RefuseFirstAsync(page, "GetChats");
        await SignInAsync(page, pupil.Phone);
        await Expect(ChatItem(page, "4Б")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        Assert.True(refused.Count >= 2, "the list was asked again");
        await Expect(page.Locator("body[data-connection=connected]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task RefusedAsOneConnectionTooMany_PageSaysWhy_InsteadOfConnectingForever()
    {
        var school = await Scene.SchoolAsync("Школа №75");
        var classId = await school.ClassAsync("6В");
        var pupil = await school.PupilAsync("Соня Белова", classId);

        // The server refuses the connection as one too many (other tabs and devices): its close message, as it sends it.
        var page = await PageAsync(Phone);
        var connections = 0;
        await page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            var server = ws.ConnectToServer();
            var refuse = Interlocked.Increment(ref connections) == 1;
            server.OnMessage(f =>
            {
                if (f.Text is not { } t)
                {
                    ws.Send(f.Binary!);
                    return;
                }

                ws.Send(t);
                if (refuse && t.StartsWith("{}", StringComparison.Ordinal))
                {
                    ws.Send(JsonSerializer.Serialize(new
                    {
                        type = 7,
                        error = "Connection closed with an error. HubException: too_many_connections: Слишком много одновременных подключений с вашего аккаунта.",
                        allowReconnect = false,
                    }) + "\u001e");
                }
            });
        });
        await SignInAsync(page, pupil.Phone);
        await Expect(page.Locator("#status")).ToHaveTextAsync(
            "Слишком много одновременных подключений с вашего аккаунта. Закройте лишние вкладки или приложения — подключимся снова через полминуты.");
        await Task.Delay(3000);
        Assert.Equal(1, connections); // not every 2 s
    }

    [Fact]
    public async Task SchoolRulesCannotBeRead_ReportSaysWhy_ThenWorks()
    {
        var school = await Scene.SchoolAsync("Школа №76");
        var classId = await school.ClassAsync("7Д");
        var katya = await school.PupilAsync("Катя Ершова", classId);
        var rude = await school.PupilAsync("Гоша Резкий", classId);
        var chatId = await School.ChatIdAsync(rude, school.Id, "7Д");
        await School.SendAsync(rude, chatId, "Все вы глупые");

        // The first GetRules is answered service_unavailable: «Пожаловаться» says so instead of doing nothing.
        var page = await PageAsync(Phone);
        await RefuseFirstAsync(page, "GetRules");
        await SignInAsync(page, katya.Phone);
        await OpenChatAsync(page, "7Д");
        var complain = MessageCard(page, "Все вы глупые").GetByRole(AriaRole.Button, new() { Name = "Пожаловаться" });
        await complain.ClickAsync();
        await Expect(page.Locator(".toast.notice")).ToContainTextAsync("Сервис временно недоступен. Попробуйте ещё раз.");
        await complain.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Dialog, new() { Name = "Пожаловаться на сообщение" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task RenewalAnswerLostOnTheWay_RetryKeepsTheSession_AndTheLostPairIsWorthNothing()
    {
        var school = await Scene.SchoolAsync("Школа №77");
        var classId = await school.ClassAsync("8А");
        var teacher = await school.TeacherAsync("Ольга Николаевна", classTeacherOf: classId);
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "8А");

        // The first renewal reaches the server, which rotates the pair, but its answer never reaches the phone.
        string? lost = null;
        var renewals = new List<string>();
        await page.RouteAsync("**/api/auth/refresh", async route =>
        {
            lock (renewals) renewals.Add(route.Request.PostData ?? "");
            if (lost is null)
            {
                var answer = await route.FetchAsync();
                lost = JsonDocument.Parse(await answer.TextAsync()).RootElement.GetProperty("refreshToken").GetString();
                await route.AbortAsync("connectionreset");
                return;
            }

            await route.ContinueAsync();
        });
        const string Renew = "async () => (await import('/js/api.js')).refreshTokens()";
        Assert.False(await page.EvaluateAsync<bool>(Renew));
        Assert.NotNull(lost);

        // The page tries again with the same spent token: the server sees the retry of that renewal, not a stolen copy.
        Assert.True(await page.EvaluateAsync<bool>(Renew));
        var sent = renewals.Select(r => JsonDocument.Parse(r).RootElement).ToList();
        Assert.Equal(2, sent.Count);
        Assert.Equal(sent[0].GetProperty("refreshToken").GetString(), sent[1].GetProperty("refreshToken").GetString());
        Assert.Equal(sent[0].GetProperty("renewalId").GetString(), sent[1].GetProperty("renewalId").GetString());
        var stored = await page.EvaluateAsync<JsonElement>("() => JSON.parse(localStorage.getItem('chat.tokens'))");
        Assert.False(stored.TryGetProperty("renewalId", out _), "the renewal id is kept after the new pair arrived");
        using (var http = App.Http(stored.GetProperty("accessToken").GetString()!))
        {
            Assert.True((await http.GetAsync("/api/me/sessions")).IsSuccessStatusCode, "the session was revoked");
        }

        await SendAsync(page, "Собрание в четверг в 18:00");
        await Expect(MessageCard(page, "Собрание в четверг в 18:00")).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToHaveCountAsync(0);

        // The pair that was lost on the way was replaced by the retry's: whoever picked it up gets nothing.
        using var anonymous = App.Http(null);
        var refused = await anonymous.PostAsync("/api/auth/refresh", new StringContent(
            JsonSerializer.Serialize(new { refreshToken = lost }), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    /// <summary>How often the page asked for a hub method; the first time is answered service_unavailable, as by the server.</summary>
    private sealed class Asked
    {
        public int Count;
    }

    /// <summary>Routes the page's hub connection so that its first call of <paramref name="target"/> is refused as service_unavailable.</summary>
    private static async Task<Asked> RefuseFirstAsync(IPage page, string target)
    {
        var asked = new Asked();
        await page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            var server = ws.ConnectToServer();
            ws.OnMessage(f =>
            {
                if (f.Text is not { } t)
                {
                    server.Send(f.Binary!);
                    return;
                }

                var ask = Records(t).FirstOrDefault(r => Is(r, "target", target));
                if (ask.ValueKind == JsonValueKind.Object && Interlocked.Increment(ref asked.Count) == 1)
                {
                    var error = $"An unexpected error occurred invoking '{target}' on the server. HubException: service_unavailable: Сервис временно недоступен. Попробуйте ещё раз.";
                    ws.Send(JsonSerializer.Serialize(new { type = 3, invocationId = ask.GetProperty("invocationId").GetString(), error }) + "\u001e");
                    return;
                }

                server.Send(t);
            });
        });
        return asked;
    }

    private static async Task AcceptRulesAsync(IPage page, string title)
    {
        await OpenChatAsync(page, title);
        await page.GetByRole(AriaRole.Button, new() { Name = "Принимаю", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeVisibleAsync();
    }

    private static Task<string> Outbox(IPage page) =>
        page.EvaluateAsync<string>("() => localStorage.getItem('chat.outbox.' + JSON.parse(localStorage.getItem('chat.tokens')).account.id) || ''");
}
