using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>What was typed and not sent stays with its chat: across chats, an edit, a reload; sending clears it.</summary>
[Collection(WebCollection.Name)]
public sealed class DraftTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Teacher_TypesALongMessage_OpensAnotherChat_EditsAnOldOne_Reloads_TheDraftWaitsInItsChat()
    {
        var school = await Scene.SchoolAsync("Школа №71");
        var classId = await school.ClassAsync("5Б");
        var teacher = await school.TeacherAsync("Вера Павловна", classTeacherOf: classId);
        await school.PupilAsync("Дима Орлов", classId);
        const string Draft = "Уважаемые родители, в четверг экскурсия в музей. Нужно взять с собой";
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "5Б");
        await SendAsync(page, "Завтра диктант");
        await Expect(Message(page, "Завтра диктант")).ToHaveCountAsync(1);
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await box.FillAsync(Draft);

        // Another chat opened: the list shows the draft under 5Б; back in 5Б it is in the box again.
        await OpenChatAsync(page, "Учительская");
        await Expect(box).ToHaveValueAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await Expect(ChatItem(page, "5Б").Locator(".last")).ToHaveTextAsync("Черновик: " + Draft);
        await OpenChatAsync(page, "5Б");
        await Expect(box).ToHaveValueAsync(Draft);

        // Editing an earlier message takes the box for the edit; cancelled or saved, the draft comes back.
        await MessageCard(page, "Завтра диктант").GetByRole(AriaRole.Button, new() { Name = "Изменить" }).ClickAsync();
        await Expect(box).ToHaveValueAsync("Завтра диктант");
        await box.PressAsync("Escape");
        await Expect(box).ToHaveValueAsync(Draft);
        await MessageCard(page, "Завтра диктант").GetByRole(AriaRole.Button, new() { Name = "Изменить" }).ClickAsync();
        await box.FillAsync("Завтра диктант по русскому");
        await box.PressAsync("Enter");
        await Expect(Message(page, "Завтра диктант по русскому")).ToHaveCountAsync(1);
        await Expect(box).ToHaveValueAsync(Draft);

        // A reload (the phone's browser dropped the tab): the draft is still there.
        await page.ReloadAsync();
        await Expect(ChatItem(page, "5Б").Locator(".last")).ToHaveTextAsync("Черновик: " + Draft);
        await OpenChatAsync(page, "5Б");
        await Expect(box).ToHaveValueAsync(Draft);

        // Sent: no draft any more, here or after a reload.
        await box.PressSequentiallyAsync(" сменную обувь.");
        await box.PressAsync("Enter");
        await Expect(Message(page, Draft + " сменную обувь.")).ToHaveCountAsync(1);
        await page.ReloadAsync();
        await Expect(ChatItem(page, "5Б").Locator(".last")).Not.ToContainTextAsync("Черновик");
        await OpenChatAsync(page, "5Б");
        await Expect(box).ToHaveValueAsync("");
    }
}
