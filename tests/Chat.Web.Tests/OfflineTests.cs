using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Offline reading: the chat list and an opened chat's recent messages kept on the device (IndexedDB, js/offline.js).</summary>
[Collection(WebCollection.Name)]
public sealed class OfflineTests(WebApp app) : WebTest(app)
{
    private const string Note = "Нет сети — показаны сохранённые сообщения. Новые придут, когда связь вернётся.";

    // The signed-in account's kept chat (or null; null too while the kept chat lists lack it): its seq and texts. The
    // database is looked for first: indexedDB.open would create an empty one.
    private const string KeptChat =
        """
        async chatId => {
          const id = JSON.parse(localStorage.getItem('chat.tokens') || 'null')?.account?.id;
          const name = 'chat.offline.' + id;
          if (!id || !(await indexedDB.databases()).some(d => d.name === name)) return null;
          const db = await new Promise((ok, fail) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
          try {
            if (!db.objectStoreNames.contains('chats')) return null;
            const t = db.transaction(['chats', 'lists']);
            const get = r => new Promise(ok => { r.onsuccess = () => ok(r.result); });
            const kept = await get(t.objectStore('chats').get(chatId));
            const lists = await get(t.objectStore('lists').getAll());
            const listed = lists.some(l => l.chats.some(c => c.id === chatId));
            return kept && listed ? { seq: kept.seq, texts: kept.messages.map(m => m.text) } : null;
          } finally { db.close(); }
        }
        """;

    /// <summary>
    /// A weak network at the start: the account answered, the list of schools was lost on the way. The page said
    /// «Загрузка…» for good; now it says there is no connection, and «Повторить» goes on into the school.
    /// </summary>
    [Fact]
    public async Task SchoolsLostOnTheWayAtStart_NoConnectionSaid_RetryGoesOn()
    {
        var school = await Scene.SchoolAsync("Школа №62");
        var pupil = await school.PupilAsync("Саша Белов", await school.ClassAsync("6А"));
        var page = await PageAsync(Phone);
        var lost = 0;
        await page.RouteAsync("**/api/me/schools", async route =>
        {
            if (Interlocked.Increment(ref lost) == 1)
            {
                await route.AbortAsync("internetdisconnected");
                return;
            }

            await route.ContinueAsync();
        });

        await SignInAsync(page, pupil.Phone);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Нет связи с сервером" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Повторить" }).ClickAsync();
        await Expect(ChatItem(page, "6А")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Parent_ReadsKeptChatWithoutServer_TypesIntoOutbox_CatchesUpFromKeptSeq_SignOutClearsDevice()
    {
        var school = await Scene.SchoolAsync("Школа №61");
        var classId = await school.ClassAsync("2В");
        await school.TeacherAsync("Марина Петровна", classTeacherOf: classId);
        var kolya = await school.PupilAsync("Коля Лебедев", classId);
        var masha = await school.PupilAsync("Маша Орлова", classId);
        var elena = await school.ParentAsync("Елена Лебедева", kolya.Id);
        var oleg = await school.ParentAsync("Олег Орлов", masha.Id);
        const string Title = "Родители 2В";
        var chatId = await School.ChatIdAsync(oleg, school.Id, Title);
        await School.SendAsync(oleg, chatId, "Завтра экскурсия в музей");

        // Елена opens the parents' chat: its messages are kept on the device.
        var page = await PageAsync(Phone);
        await SignInAsync(page, elena.Phone);
        await OpenChatAsync(page, Title);
        await Expect(Message(page, "Завтра экскурсия в музей")).ToBeVisibleAsync();
        var keptSeq = (await KeptAsync(page, chatId, "Завтра экскурсия в музей")).GetProperty("seq").GetInt32();
        Assert.True(keptSeq > 0);

        // The server cannot be reached (a train, a village): the hub and the API fail, the page's own files still load.
        var hubCalls = new List<string>();
        page.WebSocket += (_, ws) => ws.FrameSent += (_, f) => { if (f.Text is { } t) lock (hubCalls) hubCalls.Add(t); };
        await page.Context.RouteAsync("**/hubs/chat**", r => r.AbortAsync());
        await page.Context.RouteAsync("**/api/**", r => r.AbortAsync());
        await page.ReloadAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync(Note);
        await Expect(ChatItem(page, Title)).ToBeVisibleAsync();
        await OpenChatAsync(page, Title);
        await Expect(Message(page, "Завтра экскурсия в музей")).ToBeVisibleAsync();

        // Others write meanwhile; Елена's answer waits in the outbox.
        await School.SendAsync(oleg, chatId, "Возьмите сменную обувь");
        await SendAsync(page, "Коля пойдёт");
        await Expect(page.Locator(".msg.pending", new() { HasText = "Коля пойдёт" })).ToContainTextAsync("Отправляется…");
        const string Outbox = "() => localStorage.getItem('chat.outbox.' + JSON.parse(localStorage.getItem('chat.tokens')).account.id)";
        var pending = await page.EvaluateAsync<string>(Outbox);
        Assert.Contains("Коля пойдёт", pending);
        await Expect(Message(page, "Возьмите сменную обувь")).ToHaveCountAsync(0);

        // The connection comes back: the answer is sent once, Олег's message arrives, the note goes.
        await page.Context.UnrouteAllAsync();
        await Expect(MessageCard(page, "Коля пойдёт")).ToBeVisibleAsync();
        await Expect(page.Locator(".msg.pending")).ToHaveCountAsync(0);
        await Expect(Message(page, "Возьмите сменную обувь")).ToBeVisibleAsync();
        await Expect(page.Locator("#status")).ToBeHiddenAsync();
        var history = await Scene.Read(await oleg.Http.GetAsync($"/api/chats/{chatId}/messages"));
        Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Коля пойдёт");

        // The kept chat caught up from its seq (GetUpdates after it), not from zero and not through a fresh history.
        string[] calls;
        lock (hubCalls) calls = [.. hubCalls];
        var catchUp = new Regex("\"arguments\":\\[\"" + chatId + "\",(\\d+)");
        Assert.Contains(calls, c => c.Contains("\"target\":\"GetUpdates\"", StringComparison.Ordinal)
            && catchUp.Match(c) is { Success: true } m && m.Groups[1].Value == keptSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain(calls, c => c.Contains("\"target\":\"GetHistory\"", StringComparison.Ordinal));

        // What was written offline went out first, before the catch-up (on a poor connection catching up can take long).
        var sent = Array.FindIndex(calls, c => c.Contains("\"target\":\"SendMessage\"", StringComparison.Ordinal) && c.Contains("Коля пойдёт", StringComparison.Ordinal));
        var caughtUp = Array.FindIndex(calls, c => c.Contains("\"target\":\"GetUpdates\"", StringComparison.Ordinal));
        Assert.True(sent >= 0 && sent < caughtUp, $"the outbox's message (frame {sent}) went after the catch-up (frame {caughtUp})");
        await KeptAsync(page, chatId, "Возьмите сменную обувь", "Коля пойдёт");

        // Signing out deletes what the account kept on the device, a message still waiting to be sent included (put back
        // in the outbox as it was while offline: on a shared tablet it must not stay, nor go out at the next sign-in).
        await page.EvaluateAsync("o => localStorage.setItem('chat.outbox.' + JSON.parse(localStorage.getItem('chat.tokens')).account.id, o)", pending);
        await page.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToBeVisibleAsync();
        await Until(async () => !await page.EvaluateAsync<bool>("async () => (await indexedDB.databases()).some(d => d.name.startsWith('chat.offline.'))"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => Object.keys(localStorage).filter(k => k.startsWith('chat.outbox.')).length"));
    }

    /// <summary>Waits until the device keeps the chat with these texts (writes are debounced); returns what it keeps.</summary>
    private static async Task<JsonElement> KeptAsync(IPage page, Guid chatId, params string[] texts)
    {
        var kept = default(JsonElement);
        await Until(async () =>
        {
            kept = await page.EvaluateAsync<JsonElement>(KeptChat, chatId.ToString());
            return kept.ValueKind == JsonValueKind.Object && texts.All(t => kept.GetProperty("texts").EnumerateArray().Any(x => x.GetString() == t));
        });
        return kept;
    }

    /// <summary>IndexedDB is asynchronous (WaitForFunction does not await a predicate's promise): asks until true, 15 s at most.</summary>
    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true in 15 s");
            await Task.Delay(100);
        }
    }
}
