using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// A chat with many unread messages opens where its reader stopped, and is read only as far as it has been on the
/// screen (MarkRead of the newest message shown, not of the newest loaded).
/// </summary>
[Collection(WebCollection.Name)]
public sealed class FirstUnreadTests(WebApp app) : WebTest(app)
{
    private const int Total = 270;

    [Fact]
    public async Task PupilBackAfterAWeekend_ChatOpensAtTheFirstUnread_ReadOnlyAsFarAsScrolled_NewOnesBelowAreCounted()
    {
        var school = await Scene.SchoolAsync("Школа №64");
        var classId = await school.ClassAsync("6В");
        var teacher = await school.TeacherAsync("Нина Петровна", classTeacherOf: classId);
        var anya = await school.PupilAsync("Аня Белова", classId);
        // Eight classmates and the teacher write (each within the burst a person may send at once).
        var writers = new List<ApiUser> { teacher };
        foreach (var name in new[] { "Петя Лунин", "Оля Рысь", "Гоша Ким", "Лёва Мох", "Вика Дуб", "Ян Клён", "Зоя Ель", "Тимур Вяз" })
        {
            writers.Add(await school.PupilAsync(name, classId));
        }

        const string Title = "6В";
        var chatId = await School.ChatIdAsync(anya, school.Id, Title);

        // Аня read the first 20 messages on Friday; 250 more came over the weekend: more than the longest first page
        // (200), so earlier pages are loaded while the list is placed — and the newest, shown meanwhile, is not read.
        for (var i = 1; i <= Total; i++)
        {
            await School.SendAsync(writers[i % writers.Count], chatId, $"Сообщение {i}");
            if (i == 20)
            {
                var friday = (await ChatAsync(anya, school.Id, chatId)).GetProperty("lastSeq").GetInt64();
                await Scene.Read(await anya.Http.PostAsJsonAsync($"/api/chats/{chatId}/read", new { seq = friday }));
            }
        }

        var before = await ChatAsync(anya, school.Id, chatId);
        var lastSeq = before.GetProperty("lastSeq").GetInt64();
        Assert.Equal(Total - 20, before.GetProperty("unreadCount").GetInt32());

        // Opened: the «Новые сообщения» line stands right above the 21st message, on the screen; the newest is below it.
        var page = await PageAsync(Desktop);
        await SignInAsync(page, anya.Phone);
        await OpenChatAsync(page, Title);
        var line = page.Locator(".unread-line");
        await Expect(line).ToHaveCountAsync(1);
        await Expect(line).ToHaveTextAsync("Новые сообщения");
        await Expect(page.Locator(".unread-line + .msg .text")).ToHaveTextAsync("Сообщение 21");
        await Expect(line).ToBeInViewportAsync();
        await Expect(Message(page, $"Сообщение {Total}")).Not.ToBeInViewportAsync();

        // Read as far as shown: her read position moves past the 20th but stays short of the newest, and the list
        // still counts what is below.
        var shown = await ReadSeqAsync(anya, school.Id, chatId, seq => seq > lastSeq - (Total - 20));
        Assert.True(shown < lastSeq, $"read position {shown} should stay below the newest message {lastSeq}");
        Assert.True((await ChatAsync(anya, school.Id, chatId)).GetProperty("unreadCount").GetInt32() > 0);
        var down = page.GetByRole(AriaRole.Button, new() { Name = "↓ К новым" });
        await Expect(down).ToBeVisibleAsync();
        await Expect(down.Locator(".badge")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));

        // «↓ К новым»: the newest message on the screen, everything read, the badge and the button gone.
        await down.ClickAsync();
        await Expect(Message(page, $"Сообщение {Total}")).ToBeInViewportAsync();
        Assert.Equal(lastSeq, await ReadSeqAsync(anya, school.Id, chatId, seq => seq == lastSeq));
        await Expect(ChatItem(page, Title).Locator(".badge")).ToHaveCountAsync(0);
        await Expect(down).ToBeHiddenAsync();

        // Scrolled back up, a new message is counted as unread (it is not on the screen) until she goes down to it.
        await page.Locator(".messages").EvaluateAsync("list => { list.scrollTop = 0; }");
        await Expect(down).ToBeVisibleAsync();
        await School.SendAsync(teacher, chatId, "Завтра контрольная по математике");
        await Expect(ChatItem(page, Title).Locator(".badge")).ToHaveTextAsync("1");
        await Expect(down.Locator(".badge")).ToHaveTextAsync("1");
        Assert.Equal(lastSeq, (await ChatAsync(anya, school.Id, chatId)).GetProperty("readSeq").GetInt64());
        await down.ClickAsync();
        await Expect(Message(page, "Завтра контрольная по математике")).ToBeInViewportAsync();
        await ReadSeqAsync(anya, school.Id, chatId, seq => seq > lastSeq);
        await Expect(ChatItem(page, Title).Locator(".badge")).ToHaveCountAsync(0);

        // Opened again with nothing unread: no line, the newest message on the screen.
        await page.ReloadAsync();
        await OpenChatAsync(page, Title);
        await Expect(Message(page, "Завтра контрольная по математике")).ToBeInViewportAsync();
        await Expect(line).ToHaveCountAsync(0);
    }

    private static async Task<JsonElement> ChatAsync(ApiUser who, Guid schoolId, Guid chatId)
    {
        var chats = await Scene.Read(await who.Http.GetAsync($"/api/chats?schoolId={schoolId}"));
        return chats.EnumerateArray().First(c => c.GetProperty("id").GetGuid() == chatId);
    }

    /// <summary>The reader's read position on the server, once it satisfies <paramref name="until"/> (10 s at most).</summary>
    private static async Task<long> ReadSeqAsync(ApiUser who, Guid schoolId, Guid chatId, Func<long, bool> until)
    {
        long seq = 0;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            seq = (await ChatAsync(who, schoolId, chatId)).GetProperty("readSeq").GetInt64();
            if (until(seq))
            {
                return seq;
            }
        }

        Assert.Fail($"the read position stayed at {seq}");
        return seq;
    }
}
