using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>A class renamed, archived or restored by the admin reaches a pupil's open page live (ChatUpdated).</summary>
[Collection(WebCollection.Name)]
public sealed class LiveChatUpdateTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Admin_RenamesAndArchivesClasses_PupilsOpenPage_ShowsNewTitle_ArchiveNotice_ChatUnderArchive()
    {
        var school = await Scene.SchoolAsync("Школа №61");
        var a5 = await school.ClassAsync("5А");
        var b5 = await school.ClassAsync("5Б");
        var teacher = await school.TeacherAsync("Нина Сергеевна");
        var pupil = await school.PupilAsync("Маша Орлова", a5);

        // 5Б has no pupils yet, and an olympiad group made for it that Маша of 5А takes part in.
        var group = await Scene.Read(await teacher.Http.PostAsJsonAsync($"/api/schools/{school.Id}/chats",
            new { kind = "subject", title = "Олимпиада 5Б", classId = b5, memberIds = new[] { pupil.Id } }));
        await School.SendAsync(teacher, group.GetProperty("id").GetGuid(), "Задача 1 к пятнице");

        var pupilPage = await PageAsync(Phone);
        await SignInAsync(pupilPage, pupil.Phone);
        await OpenChatAsync(pupilPage, "5А");
        await pupilPage.EvaluateAsync("() => { window.notReloaded = true; }");

        var (page, classes) = await AdminClassesAsync(school);

        // The admin renames 5А: the pupil's open chat and her list take the new name, without a reload.
        await classes.GetByRole(AriaRole.Button, new() { Name = "Переименовать 5А" }).ClickAsync();
        var rename = page.GetByRole(AriaRole.Dialog, new() { Name = "Переименовать класс 5А" });
        await rename.GetByLabel("Новое название").FillAsync("5А инженерный");
        await rename.GetByRole(AriaRole.Button, new() { Name = "Переименовать" }).ClickAsync();
        await Expect(pupilPage.Locator(".chat-head h2")).ToHaveTextAsync("5А инженерный");
        await pupilPage.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await Expect(ChatItem(pupilPage, "5А инженерный")).ToBeVisibleAsync();
        await Expect(ChatItem(pupilPage, "5А")).ToHaveCountAsync(0);

        // She opens the olympiad group and can write; the admin archives 5Б: the input gives way to the archive notice.
        await OpenChatAsync(pupilPage, "Олимпиада 5Б");
        var input = pupilPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        var reply = MessageCard(pupilPage, "Задача 1 к пятнице").GetByRole(AriaRole.Button, new() { Name = "Ответить" });
        await Expect(reply).ToHaveCountAsync(1);
        await input.FocusAsync();
        await classes.GetByRole(AriaRole.Button, new() { Name = "В архив 5Б" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog, new() { Name = "Отправить 5Б в архив?" }).GetByRole(AriaRole.Button, new() { Name = "В архив" }).ClickAsync();
        var notice = pupilPage.Locator(".readonly-note");
        await Expect(notice).ToHaveTextAsync("Чат в архиве: история сохранена, писать в него нельзя.");
        await Expect(notice).ToBeFocusedAsync();
        await Expect(input).ToBeHiddenAsync();
        await Expect(reply).ToHaveCountAsync(0);

        // Its teacher finds no lesson, broadcast or planning there either: the server would refuse them (chat_archived).
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await teacherPage.GetByRole(AriaRole.Button, new() { Name = "Архив (1)" }).ClickAsync();
        await OpenChatAsync(teacherPage, "Олимпиада 5Б");
        await Expect(teacherPage.Locator(".readonly-note")).ToHaveTextAsync("Чат в архиве: история сохранена, писать в него нельзя.");
        await Expect(teacherPage.Locator(".chat-head").GetByRole(AriaRole.Link, new() { Name = "Начать урок" })).ToHaveCountAsync(0);
        await teacherPage.Locator(".chat-head").GetByRole(AriaRole.Button, new() { Name = "Ещё действия" }).ClickAsync();
        await Expect(teacherPage.GetByRole(AriaRole.Menuitem, new() { Name = "О чате" })).ToBeVisibleAsync();
        await Expect(teacherPage.GetByRole(AriaRole.Menuitem, new() { Name = "Запланировать урок" })).ToHaveCountAsync(0);
        await Expect(teacherPage.GetByRole(AriaRole.Menuitem, new() { Name = "Начать трансляцию" })).ToHaveCountAsync(0);
        await teacherPage.CloseAsync();

        // In the list the group is no longer among the active chats but under a collapsed «Архив (1)», opened with the keyboard.
        await pupilPage.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        var archive = pupilPage.GetByRole(AriaRole.Button, new() { Name = "Архив (1)" });
        await Expect(archive).ToHaveAttributeAsync("aria-expanded", "false");
        await Expect(ChatItem(pupilPage, "Олимпиада 5Б")).ToHaveCountAsync(0);
        await archive.FocusAsync();
        await pupilPage.Keyboard.PressAsync("Enter");
        await Expect(archive).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(archive).ToBeFocusedAsync();
        var archived = pupilPage.GetByRole(AriaRole.List, new() { Name = "Чаты в архиве" });
        await Expect(archived.Locator(".chat-item .name")).ToHaveTextAsync(["Олимпиада 5Б"]);
        await Screenshot(pupilPage, "chat-list-archive-phone");
        await pupilPage.Keyboard.PressAsync("Tab");
        await Expect(archived.Locator(".chat-item")).ToBeFocusedAsync();

        // Back from the archive with its class: the group is active again and takes messages.
        await classes.GetByRole(AriaRole.List, new() { Name = "Архив классов" })
            .GetByRole(AriaRole.Button, new() { Name = "Вернуть из архива 5Б" }).ClickAsync();
        await Expect(archive).ToHaveCountAsync(0);
        await OpenChatAsync(pupilPage, "Олимпиада 5Б");
        await Expect(input).ToBeVisibleAsync();
        await SendAsync(pupilPage, "Снова можно писать");
        await Expect(Message(pupilPage, "Снова можно писать")).ToBeVisibleAsync();
        Assert.True(await pupilPage.EvaluateAsync<bool>("() => window.notReloaded === true"), "the pupil's page was reloaded");
    }
}
