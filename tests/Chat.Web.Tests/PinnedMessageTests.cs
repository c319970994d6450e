using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>A message pinned above the chat (hub PinMessage): the class teacher pins the homework, every pupil sees it on top.</summary>
[Collection(WebCollection.Name)]
public sealed class PinnedMessageTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task ClassTeacherPinsTheHomework_PupilSeesItOnTopLive_OpensIt_AnotherReplacesIt_UnpinnedItGoes()
    {
        var school = await Scene.SchoolAsync("Школа №57");
        var classId = await school.ClassAsync("7А");
        var teacher = await school.TeacherAsync("Вера Павловна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Маша Белова", classId);
        const string Homework = "Домашнее задание: параграф 12, упражнения 3–5";
        const string Trip = "В пятницу экскурсия, сбор в 8:30 у школы";

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "7А");
        await SendAsync(page, Homework);
        for (var i = 1; i <= 3; i++)
        {
            await SendAsync(page, $"Объявление {i}");
        }

        var pupilPage = await PageAsync(Phone);
        await SignInAsync(pupilPage, pupil.Phone);
        await OpenChatAsync(pupilPage, "7А");
        var bar = pupilPage.GetByRole(AriaRole.Region, new() { Name = "Закреплённое сообщение" });
        await Expect(bar).ToBeHiddenAsync();
        // A pupil pins nothing in the class chat.
        await Expect(MessageCard(pupilPage, Homework).GetByRole(AriaRole.Button, new() { Name = "Закрепить" })).ToHaveCountAsync(0);

        await MessageCard(page, Homework).GetByRole(AriaRole.Button, new() { Name = "Закрепить" }).ClickAsync();
        await Expect(bar).ToContainTextAsync("📌 Закреплено");
        await Expect(bar).ToContainTextAsync("Вера Павловна: " + Homework);
        await Expect(bar.GetByRole(AriaRole.Button, new() { Name = "Открепить сообщение" })).ToHaveCountAsync(0);
        await Expect(MessageCard(page, Homework).GetByRole(AriaRole.Button, new() { Name = "Открепить" })).ToBeVisibleAsync();
        await Screenshot(pupilPage, "pinned-message-phone");

        // The bar opens the message, wherever the list is scrolled.
        await pupilPage.Locator(".messages").EvaluateAsync("el => { el.scrollTop = el.scrollHeight; }");
        await bar.GetByRole(AriaRole.Button, new() { Name = "Показать закреплённое сообщение" }).ClickAsync();
        await Expect(MessageCard(pupilPage, Homework)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bfound\\b"));
        await Expect(MessageCard(pupilPage, Homework)).ToBeFocusedAsync();

        // Another one pinned replaces it; a page opened later shows the one pinned now.
        await SendAsync(page, Trip);
        await MessageCard(page, Trip).GetByRole(AriaRole.Button, new() { Name = "Закрепить" }).ClickAsync();
        await Expect(bar).ToContainTextAsync(Trip);
        await Expect(bar).Not.ToContainTextAsync(Homework);
        await Expect(MessageCard(page, Homework).GetByRole(AriaRole.Button, new() { Name = "Закрепить" })).ToBeVisibleAsync();
        await pupilPage.ReloadAsync();
        await OpenChatAsync(pupilPage, "7А");
        await Expect(bar).ToContainTextAsync(Trip);

        // Unpinned from the bar: gone for everyone.
        await page.GetByRole(AriaRole.Region, new() { Name = "Закреплённое сообщение" }).GetByRole(AriaRole.Button, new() { Name = "Открепить сообщение" }).ClickAsync();
        await Expect(bar).ToBeHiddenAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Закреплённое сообщение" })).ToBeHiddenAsync();
    }
}
