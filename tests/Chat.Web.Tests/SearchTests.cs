using System.Net.Http.Json;
using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Message search over my chats, and the chat list's own controls.</summary>
[Collection(WebCollection.Name)]
public sealed class SearchTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Search_WordForm_FindsClassmatesMessage_NotOtherClass_OpensChatAtIt()
    {
        var school = await Scene.SchoolAsync("Школа №31");
        var classA = await school.ClassAsync("5А");
        var classB = await school.ClassAsync("5Б");
        var masha = await school.PupilAsync("Маша Лебедева", classA);
        var petya = await school.PupilAsync("Петя Орлов", classA);
        var kolya = await school.PupilAsync("Коля Зайцев", classB);
        var chatA = await School.ChatIdAsync(petya, school.Id, "5А");
        var chatB = await School.ChatIdAsync(kolya, school.Id, "5Б");
        await School.SendAsync(petya, chatA, "Завтра не будет урока физкультуры, зал закрыт");
        for (var i = 1; i <= 55; i++)
        {
            await School.SendAsync(petya, chatA, $"Болтовня {i}");
        }

        await School.SendAsync(kolya, chatB, "У нас тоже отменили урок");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, masha.Phone);
        await Expect(ChatItem(page, "5А")).ToBeVisibleAsync();

        // «уроки» (plural) finds «урока» through the server's Russian stemming; 5Б's message is not mine to find.
        var box = page.GetByRole(AriaRole.Searchbox, new() { Name = "Поиск по сообщениям" });
        await box.FillAsync("уроки");
        await box.PressAsync("Enter");
        var results = page.GetByRole(AriaRole.List, new() { Name = "Найденные сообщения" });
        var hits = results.Locator(".search-hit");
        await Expect(hits).ToHaveCountAsync(1);
        await Expect(hits.Locator(".name")).ToHaveTextAsync("5А");
        await Expect(hits.Locator(".last")).ToHaveTextAsync("Петя Орлов: Завтра не будет урока физкультуры, зал закрыт");
        await Expect(results).Not.ToContainTextAsync("отменили");
        await Expect(page.GetByRole(AriaRole.List, new() { Name = "Чаты" })).ToBeHiddenAsync();
        await ScreenshotBoth(page, "search");

        // The hit opens 5А at that message, 55 messages back (an earlier page is loaded for it), marked and focused.
        await hits.First.ClickAsync();
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("5А");
        var found = page.Locator(".msg.found");
        await Expect(found.Locator(".text")).ToHaveTextAsync("Завтра не будет урока физкультуры, зал закрыт");
        await Expect(found).ToBeFocusedAsync();
        await Expect(found).ToBeInViewportAsync();

        // A message of files is found by a file's name too, shown after its caption with the word marked.
        await School.SendFilesAsync(petya, chatA, [await School.UploadAsync(petya, school.Id, "Расписание_секций.pdf", SampleFiles.Pdf())], "Секции на осень");
        await box.FillAsync("расписание");
        await box.PressAsync("Enter");
        await Expect(hits).ToHaveCountAsync(1);
        await Expect(hits.Locator(".last")).ToHaveTextAsync("Петя Орлов: 📎 Секции на осень · Расписание_секций.pdf");
        await Expect(hits.Locator(".last mark")).ToHaveTextAsync("Расписание");

        // Nothing found is said so; closing the search brings the chat list back.
        await box.FillAsync("контрольная");
        await box.PressAsync("Enter");
        await Expect(results).ToContainTextAsync("Ничего не найдено");
        await results.GetByRole(AriaRole.Button, new() { Name = "Закрыть поиск" }).ClickAsync();
        await Expect(results).ToBeHiddenAsync();
        await Expect(ChatItem(page, "5А")).ToBeVisibleAsync();
        await Expect(box).ToBeFocusedAsync();
    }

    [Fact]
    public async Task SearchInThisChat_MoreThan50Hits_ShowMore_WordMarked_MarkupShownAsText()
    {
        var school = await Scene.SchoolAsync("Школа №33");
        var classId = await school.ClassAsync("7В");
        var masha = await school.PupilAsync("Маша Белова", classId);
        var petya = await school.PupilAsync("Петя Громов", classId);
        var channel = await School.ChatIdAsync(school.Admin, school.Id, "Общешкольный канал");
        var classChat = await School.ChatIdAsync(petya, school.Id, "7В");
        await School.SendAsync(petya, classChat, "Задание <b>жирным</b> не потерять");
        for (var i = 1; i <= 55; i++)
        {
            await School.SendAsync(petya, classChat, $"Задание {i}: параграф");
        }

        await School.SendAsync(school.Admin, channel, "Задание для всей школы");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, masha.Phone);
        await OpenChatAsync(page, "7В");

        // «Искать в этом чате» limits the search box to 7В and puts the cursor in it.
        await (await HeaderMenuItemAsync(page, "Искать в этом чате")).ClickAsync();
        var box = page.GetByRole(AriaRole.Searchbox, new() { Name = "Поиск по сообщениям" });
        await Expect(box).ToBeFocusedAsync();
        await Expect(page.Locator(".search-scope")).ToContainTextAsync("В чате «7В»");
        await box.FillAsync("задания");
        await box.PressAsync("Enter");

        // The first 50 of 7В's 56 hits, all in 7В, the word marked; the channel's message is not among them.
        var results = page.GetByRole(AriaRole.List, new() { Name = "Найденные сообщения" });
        var hits = results.Locator(".search-hit");
        await Expect(hits).ToHaveCountAsync(50);
        await Expect(results.Locator(".search-count")).ToHaveTextAsync("Найдено в чате «7В»: 50+");
        await Expect(hits.Locator(".name", new() { HasText = "Общешкольный канал" })).ToHaveCountAsync(0);
        await Expect(hits.First.Locator(".last")).ToHaveTextAsync("Петя Громов: Задание 55: параграф");
        await Expect(hits.First.Locator("mark")).ToHaveTextAsync("Задание");

        // «Показать ещё» from the keyboard: the last six, the focus on the first of them, no more to show.
        var more = results.GetByRole(AriaRole.Button, new() { Name = "Показать ещё" });
        await more.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(hits).ToHaveCountAsync(56);
        await Expect(hits.Nth(50)).ToBeFocusedAsync();
        await Expect(more).ToBeHiddenAsync();
        await Expect(results.Locator(".search-count")).ToHaveTextAsync("Найдено в чате «7В»: 56");
        var seqs = await hits.EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.seq)");
        Assert.Equal(56, seqs.Distinct().Count());

        // The oldest one's markup is text: the tag shows as typed, only the found word is marked.
        var tagged = hits.Last.Locator(".last");
        await Expect(tagged).ToHaveTextAsync("Петя Громов: Задание <b>жирным</b> не потерять");
        await Expect(tagged.Locator("b")).ToHaveCountAsync(0);
        await Expect(tagged.Locator("mark")).ToHaveTextAsync("Задание");

        // «Искать везде»: the same words in all my chats, the channel's newest message first.
        await page.GetByRole(AriaRole.Button, new() { Name = "Искать везде" }).ClickAsync();
        await Expect(page.Locator(".search-scope")).ToBeHiddenAsync();
        await Expect(results.Locator(".search-count")).ToHaveTextAsync("Найдено: 50+");
        await Expect(hits.First.Locator(".name")).ToHaveTextAsync("Общешкольный канал");
        await Expect(box).ToBeFocusedAsync();

        // On a phone the open chat (7В) covers the list: «Искать в этом чате» brings the search side back, limited to the chat.
        await page.SetViewportSizeAsync(Phone.Width, Phone.Height);
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync("7В");
        await Expect(box).ToBeHiddenAsync();
        await (await HeaderMenuItemAsync(page, "Искать в этом чате")).ClickAsync();
        await Expect(box).ToBeFocusedAsync();
        await Expect(box).ToBeInViewportAsync();
        await Expect(results.Locator(".search-count")).ToHaveTextAsync("Найдено в чате «7В»: 50+");
    }

    [Fact]
    public async Task PinnedChat_GoesOnTop_AndStays_MutedChat_IsMarked()
    {
        var school = await Scene.SchoolAsync("Школа №32");
        var classId = await school.ClassAsync("6Г");
        var masha = await school.PupilAsync("Маша Кузнецова", classId);
        var petya = await school.PupilAsync("Петя Соколов", classId);
        var channel = await School.ChatIdAsync(school.Admin, school.Id, "Общешкольный канал");
        var classChat = await School.ChatIdAsync(petya, school.Id, "6Г");
        await School.SendAsync(school.Admin, channel, "Расписание на неделю");
        await School.SendAsync(petya, classChat, "Всем привет");

        var page = await PageAsync(Desktop);
        await SignInAsync(page, masha.Phone);
        var names = page.Locator(".chat-item .name");
        await Expect(names.First).ToHaveTextAsync("6Г");

        // Pinning the channel puts it on top; it stays there after a reload (the server keeps it) and a new message in 6Г.
        await OpenChatAsync(page, "Общешкольный канал");
        // «Закрепить» is in the header's «Ещё» menu: Enter opens it on its first item, Enter pins, the focus returns to «Ещё».
        var more = page.Locator(".chat-head").GetByRole(AriaRole.Button, new() { Name = "Ещё действия" });
        await more.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Menuitem, new() { Name = "Закрепить" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(more).ToBeFocusedAsync();
        await Expect(more).ToHaveAttributeAsync("aria-expanded", "false");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Menuitem, new() { Name = "Открепить" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.GetByRole(AriaRole.Menu, new() { Name = "Ещё действия" })).ToBeHiddenAsync();
        await Expect(more).ToBeFocusedAsync();
        await Expect(names.First).ToHaveTextAsync("Общешкольный канал");
        await Expect(ChatItem(page, "Общешкольный канал").Locator(".flag.pinned")).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Expect(names.First).ToHaveTextAsync("Общешкольный канал");
        await School.SendAsync(petya, classChat, "Кто идёт на кружок?");
        await Expect(ChatItem(page, "6Г").Locator(".badge")).ToHaveTextAsync("2");
        await Expect(names.First).ToHaveTextAsync("Общешкольный канал");

        // Muting 6Г marks it and greys its unread count; «Включить звук» takes it back.
        await OpenChatAsync(page, "6Г");
        await (await HeaderMenuItemAsync(page, "Без звука")).ClickAsync();
        await Expect(ChatItem(page, "6Г").Locator(".flag.muted-flag")).ToBeVisibleAsync();
        await OpenChatAsync(page, "Общешкольный канал");
        await School.SendAsync(petya, classChat, "Кружок в 15:00");
        await Expect(ChatItem(page, "6Г").Locator(".badge.muted-badge")).ToHaveTextAsync("1");
        await ScreenshotBoth(page, "chat-list-pinned");
        await OpenChatAsync(page, "6Г");
        await (await HeaderMenuItemAsync(page, "Включить звук")).ClickAsync();
        await Expect(ChatItem(page, "6Г").Locator(".flag.muted-flag")).ToHaveCountAsync(0);

        // Unpinned, the list is by the last message again.
        await OpenChatAsync(page, "Общешкольный канал");
        await (await HeaderMenuItemAsync(page, "Открепить")).ClickAsync();
        await Expect(names.First).ToHaveTextAsync("6Г");
        await Expect(page.Locator(".chat-item .flag")).ToHaveCountAsync(0);

        // «О чате» of the channel shows a reader who writes there, not its readers (Петя is one of them).
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.Locator(".side-panel");
        await Expect(panel.GetByRole(AriaRole.Heading, new() { Name = "Пишут в канал (1)" })).ToBeVisibleAsync();
        await Expect(panel).ToContainTextAsync("Всего в канале: 3");
        await Expect(panel.Locator(".members")).Not.ToContainTextAsync("Петя Соколов");
    }
}
