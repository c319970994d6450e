using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>The chat's header keeps the title in view; the actions beyond the first call button are in «Ещё».</summary>
[Collection(WebCollection.Name)]
public sealed class ChatHeaderTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task ClassTeacher_InSubjectChat_SeesTitle_ReachesChatInfoAndPlanning_ThroughMoreMenu_DesktopAndPhone()
    {
        const string Title = "Алгебра и начала математического анализа, 8В";
        var school = await Scene.SchoolAsync("Школа №47");
        var classId = await school.ClassAsync("8В");
        var teacher = await school.TeacherAsync("Нина Андреевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Саша Орлов", classId);
        await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "subject", title = Title, classId, memberIds = new[] { pupil.Id } }));

        foreach (var (size, name) in new[] { (Desktop, "desktop"), (Phone, "phone") })
        {
            var page = await PageAsync(size);
            await SignInAsync(page, teacher.Phone);
            await OpenChatAsync(page, Title);

            // The title is in the header, whole or shortened with an ellipsis, beside «Начать урок» and «Ещё».
            var head = page.Locator(".chat-head");
            var title = head.GetByRole(AriaRole.Heading, new() { Name = Title });
            await Expect(title).ToBeVisibleAsync();
            var headBox = (await head.BoundingBoxAsync())!;
            var titleBox = (await title.BoundingBoxAsync())!;
            Assert.True(titleBox.X >= headBox.X && titleBox.X + titleBox.Width <= headBox.X + headBox.Width
                && titleBox.Y >= headBox.Y && titleBox.Y + titleBox.Height <= headBox.Y + headBox.Height,
                $"{name}: the title ({titleBox.X}, {titleBox.Width}) is not inside the header ({headBox.X}, {headBox.Width})");
            Assert.True(titleBox.Width >= 60, $"{name}: the title is only {titleBox.Width} px wide");
            await Expect(head.GetByRole(AriaRole.Link, new() { Name = "Начать урок" })).ToBeVisibleAsync();
            var more = head.GetByRole(AriaRole.Button, new() { Name = "Ещё действия" });
            await Expect(more).ToBeInViewportAsync();
            if (size == Phone)
            {
                Assert.True(await title.EvaluateAsync<bool>("el => el.scrollWidth > el.clientWidth"), "the long title is not shortened on a phone");
            }

            // The menu: open, everything else is there; Escape closes it and gives the focus back.
            await more.ClickAsync();
            var menu = page.GetByRole(AriaRole.Menu, new() { Name = "Ещё действия" });
            await Expect(menu.GetByRole(AriaRole.Menuitem)).ToHaveTextAsync(["Запланировать урок", "Закрепить", "Без звука на час", "Без звука до утра", "Без звука", "Искать в этом чате", "Материалы", "О чате"]);
            await Expect(menu.GetByRole(AriaRole.Menuitem).First).ToBeFocusedAsync();
            await Expect(menu).ToBeInViewportAsync(new() { Ratio = 1 });
            await Screenshot(page, "chat-head-menu-" + name);
            await page.Keyboard.PressAsync("Escape");
            await Expect(menu).ToBeHiddenAsync();
            await Expect(more).ToBeFocusedAsync();

            // «О чате» through the menu.
            await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
            var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
            await Expect(panel.Locator("li.member", new() { HasText = "Саша Орлов" })).ToBeVisibleAsync();
            await panel.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
            await Expect(panel).ToBeHiddenAsync();

            // Planning a lesson through the menu, with the keyboard: End goes to the last item, Home to the first.
            await more.FocusAsync();
            await page.Keyboard.PressAsync("ArrowDown");
            await page.Keyboard.PressAsync("End");
            await Expect(menu.GetByRole(AriaRole.Menuitem, new() { Name = "О чате" })).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Home");
            await Expect(menu.GetByRole(AriaRole.Menuitem, new() { Name = "Запланировать урок" })).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Enter");
            var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Запланировать урок" });
            await Expect(dialog).ToBeVisibleAsync();
            await Expect(dialog.GetByLabel("Название")).ToBeFocusedAsync();
            await page.Keyboard.PressAsync("Escape");
            await Expect(dialog).ToBeHiddenAsync();
        }
    }

    [Fact]
    public async Task Pupil_MutesClassChat_ForAnHour_ThenUntilMorning_ListSaysUntilWhen_ServerKeepsTheTime()
    {
        var school = await Scene.SchoolAsync("Школа №12");
        var classId = await school.ClassAsync("7Б");
        var pupil = await school.PupilAsync("Лена Смирнова", classId);
        var chatId = await School.ChatIdAsync(pupil, school.Id, "7Б");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, pupil.Phone);
        await OpenChatAsync(page, "7Б");

        // For an hour: the list's 🔕 says until when, the server keeps that time.
        await (await HeaderMenuItemAsync(page, "Без звука на час")).ClickAsync();
        var flag = ChatItem(page, "7Б").Locator(".flag.muted-flag");
        await Expect(flag).ToHaveAttributeAsync("title", new Regex(@"^Без звука до (завтра, )?\d{2}:\d{2}$"));
        var hour = await MutedUntilAsync(pupil, chatId);
        Assert.NotNull(hour);
        Assert.InRange(hour.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));

        // Switched back: the menu offers the lengths again.
        await (await HeaderMenuItemAsync(page, "Включить звук")).ClickAsync();
        await Expect(flag).ToBeHiddenAsync();
        Assert.Null(await MutedUntilAsync(pupil, chatId));

        // Until the morning: 7:00 of the browser's time zone, within the next day.
        await (await HeaderMenuItemAsync(page, "Без звука до утра")).ClickAsync();
        await Expect(flag).ToBeVisibleAsync();
        var morning = await MutedUntilAsync(pupil, chatId);
        Assert.NotNull(morning);
        Assert.InRange(morning.Value - DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromDays(1));
        var local = await page.EvaluateAsync<int[]>("iso => { const d = new Date(iso); return [d.getHours(), d.getMinutes()]; }", morning.Value.ToString("o"));
        Assert.Equal([7, 0], local);
        await Expect(flag).ToHaveAttributeAsync("title", new Regex(@"^Без звука до (завтра, )?07:00$"));
        await Expect(await HeaderMenuItemAsync(page, "Включить звук")).ToBeVisibleAsync();
    }

    /// <summary>The chat's mute as the server keeps it for that member, from the chat list (left out of the JSON when not muted).</summary>
    private static async Task<DateTimeOffset?> MutedUntilAsync(ApiUser who, Guid chatId)
    {
        var chats = await Scene.Read(await who.Http.GetAsync("/api/chats"));
        var chat = chats.EnumerateArray().Single(c => c.GetProperty("id").GetGuid() == chatId);
        return chat.TryGetProperty("mutedUntil", out var until) && until.ValueKind == System.Text.Json.JsonValueKind.String
            ? until.GetDateTimeOffset()
            : null;
    }
}
