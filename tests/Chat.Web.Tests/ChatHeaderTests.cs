using System.Net.Http.Json;
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
            await Expect(menu.GetByRole(AriaRole.Menuitem)).ToHaveTextAsync(["Запланировать урок", "Закрепить", "Без звука", "Искать в этом чате", "Материалы", "О чате"]);
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
}
