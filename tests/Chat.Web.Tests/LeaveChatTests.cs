using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// Joining a chat is voluntary (seed 004, ethics §2.3–2.4), and so is leaving one joined by hand or by link: «Покинуть
/// чат» in «О чате» (hub LeaveChat); the chat's only owner hands it on first («Сделать владельцем»).
/// </summary>
[Collection(WebCollection.Name)]
public sealed class LeaveChatTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task ParentLeavesAGroupFromChatInfo_ItGoes_TheOnlyOwnerHandsItOnFirst()
    {
        var school = await Scene.SchoolAsync("Школа №58");
        var classId = await school.ClassAsync("3Б");
        var teacher = await school.TeacherAsync("Анна Сергеевна", classTeacherOf: classId);
        var colleague = await school.TeacherAsync("Игорь Петрович");
        var pupil = await school.PupilAsync("Вова Смирнов", classId);
        var mother = await school.ParentAsync("Елена Смирнова", pupil.Id);
        await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "group", title = "Родительский комитет 3Б", memberIds = new[] { mother.Id, colleague.Id } }));

        // The mother leaves: asked first, then the chat is gone from her list; her class's chats stay.
        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await OpenChatAsync(page, "Родительский комитет 3Б");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var panel = page.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        await panel.GetByRole(AriaRole.Button, new() { Name = "Покинуть чат" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Покинуть чат?" });
        await Expect(dialog).ToContainTextAsync("Вы больше не будете получать сообщения чата «Родительский комитет 3Б».");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Покинуть" }).ClickAsync();
        await Expect(page.GetByText("Вы вышли из чата «Родительский комитет 3Б».")).ToBeVisibleAsync();
        await Expect(ChatItem(page, "Родительский комитет 3Б")).ToHaveCountAsync(0);
        await Expect(ChatItem(page, "Родители 3Б")).ToHaveCountAsync(1);

        // The teacher, its only owner, is told to hand it on; once her colleague is an owner too, she may leave.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "Родительский комитет 3Б");
        await (await HeaderMenuItemAsync(teacherPage, "О чате")).ClickAsync();
        var info = teacherPage.GetByRole(AriaRole.Complementary, new() { Name = "О чате" });
        await info.GetByRole(AriaRole.Button, new() { Name = "Покинуть чат" }).ClickAsync();
        var ask = teacherPage.GetByRole(AriaRole.Dialog, new() { Name = "Покинуть чат?" });
        await ask.GetByRole(AriaRole.Button, new() { Name = "Покинуть" }).ClickAsync();
        await Expect(ask).ToContainTextAsync("Вы единственный владелец этого чата");
        await ask.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();

        var colleagueRow = info.Locator(".member").Filter(new() { HasText = "Игорь Петрович" });
        await colleagueRow.GetByRole(AriaRole.Button, new() { Name = "Сделать владельцем" }).ClickAsync();
        await teacherPage.GetByRole(AriaRole.Dialog, new() { Name = "Сделать владельцем?" }).GetByRole(AriaRole.Button, new() { Name = "Сделать владельцем" }).ClickAsync();
        await Expect(colleagueRow).ToContainTextAsync("владелец");
        await info.GetByRole(AriaRole.Button, new() { Name = "Покинуть чат" }).ClickAsync();
        await teacherPage.GetByRole(AriaRole.Dialog, new() { Name = "Покинуть чат?" }).GetByRole(AriaRole.Button, new() { Name = "Покинуть" }).ClickAsync();
        await Expect(ChatItem(teacherPage, "Родительский комитет 3Б")).ToHaveCountAsync(0);
    }
}
