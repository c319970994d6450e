using System.Net.Http.Json;
using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>A chat's materials («Материалы» in the chat header's «Ещё») and the admin's storage report («Хранилище»).</summary>
[Collection(WebCollection.Name)]
public sealed class MaterialsTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Pupil_OpensClassMaterials_SeesPhotoAndDocument_FiltersPhotos_JumpsToTheDocumentsMessage()
    {
        var school = await Scene.SchoolAsync("Школа №41");
        var classId = await school.ClassAsync("6Б");
        var teacher = await school.TeacherAsync("Ирина Сергеевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Вова Смирнов", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "6Б");

        // The teacher posts the homework sheet, then the class photo, through the page.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "6Б");
        var box = teacherPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await box.FillAsync("Домашнее задание на неделю");
        await teacherPage.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Задание.pdf", "application/pdf", SampleFiles.Pdf()));
        await Expect(MessageCard(teacherPage, "Домашнее задание на неделю")).ToHaveCountAsync(1);
        await box.FillAsync("Фото класса");
        await teacherPage.Locator("input[type=file]").SetInputFilesAsync(Upload.File("класс.jpg", "image/jpeg", SampleFiles.Jpeg(640, 480)));
        await Expect(MessageCard(teacherPage, "Фото класса")).ToHaveCountAsync(1);
        // Then the class talks: the homework's message is more than a page back.
        for (var i = 1; i <= 55; i++)
        {
            await School.SendAsync(teacher, chatId, $"Объявление {i}");
        }

        var page = await PageAsync(Phone);
        await SignInAsync(page, pupil.Phone);
        await OpenChatAsync(page, "6Б");
        var more = page.Locator(".chat-head").GetByRole(AriaRole.Button, new() { Name = "Ещё действия" });
        await (await HeaderMenuItemAsync(page, "Материалы")).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Материалы чата" });
        await Expect(dialog).ToBeVisibleAsync();
        var filter = dialog.GetByRole(AriaRole.Group, new() { Name = "Тип материалов" });
        await Expect(filter.GetByRole(AriaRole.Button, new() { Name = "Все" })).ToBeFocusedAsync();
        await Expect(filter.GetByRole(AriaRole.Button, new() { Name = "Все" })).ToHaveAttributeAsync("aria-pressed", "true");

        // Both: the photo as a preview in the grid, the document in the list with its size, sender and time.
        var photos = dialog.Locator(".material-photo");
        var rows = dialog.Locator(".material-row");
        await Expect(photos).ToHaveCountAsync(1);
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(photos.Locator("figcaption")).ToContainTextAsync("Ирина Сергеевна ·");
        await page.WaitForFunctionAsync("() => document.querySelector('.materials-dialog .material-photo .thumb img')?.naturalWidth > 0");
        await Expect(rows.First).ToContainTextAsync("Задание.pdf · 64 КБ");
        await Expect(rows.First.Locator(".material-meta")).ToContainTextAsync("Ирина Сергеевна ·");
        await Expect(rows.First.GetByRole(AriaRole.Button, new() { Name = "Скачать Задание.pdf, 64 КБ" })).ToBeVisibleAsync();
        await Expect(dialog).Not.ToContainTextAsync(teacher.Phone);
        await ScreenshotBoth(page, "chat-materials");

        // «Фото» leaves the photo alone; it opens full size as in the chat.
        await filter.GetByRole(AriaRole.Button, new() { Name = "Фото" }).ClickAsync();
        await Expect(filter.GetByRole(AriaRole.Button, new() { Name = "Фото" })).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(rows).ToHaveCountAsync(0);
        await Expect(photos).ToHaveCountAsync(1);
        await photos.GetByRole(AriaRole.Button, new() { Name = "Открыть изображение класс.jpg" }).ClickAsync();
        var viewer = page.GetByRole(AriaRole.Dialog, new() { Name = "класс.jpg" });
        await page.WaitForFunctionAsync("() => document.querySelector('dialog .full-img')?.naturalWidth === 640");
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(viewer).ToHaveCountAsync(0);

        // «Документы»: the homework sheet; «Перейти к сообщению» opens the chat at its message (earlier pages loaded).
        await filter.GetByRole(AriaRole.Button, new() { Name = "Документы" }).ClickAsync();
        await Expect(photos).ToHaveCountAsync(0);
        await Expect(rows).ToHaveCountAsync(1);
        await rows.GetByRole(AriaRole.Button, new() { Name = "Перейти к сообщению" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        var found = page.Locator(".msg.found");
        await Expect(found.Locator(".text")).ToHaveTextAsync("Домашнее задание на неделю");
        await Expect(found).ToBeFocusedAsync();
        await Expect(found).ToBeInViewportAsync();

        // A chat without files says so; closing gives the focus back to «Ещё».
        await OpenChatAsync(page, "Общешкольный канал");
        await (await HeaderMenuItemAsync(page, "Материалы")).ClickAsync();
        await Expect(dialog).ToContainTextAsync("В этом чате пока нет материалов.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(more).ToBeFocusedAsync();
    }

    [Fact]
    public async Task ManyFiles_ArePagedBack_WithShowMore()
    {
        var school = await Scene.SchoolAsync("Школа №43");
        var classId = await school.ClassAsync("9А");
        var pupil = await school.PupilAsync("Оля Белова", classId);
        var chatId = await School.ChatIdAsync(pupil, school.Id, "9А");
        var pdf = SampleFiles.Pdf(8 * 1024);
        for (var i = 1; i <= 31; i++)
        {
            var file = await UploadAsync(school.Id, pupil, $"Лист {i}.pdf", pdf);
            await Scene.Read(await pupil.Http.PostAsJsonAsync($"/api/chats/{chatId}/messages/files", new { clientId = Guid.NewGuid(), fileIds = new[] { file } }));
        }

        var page = await PageAsync(Desktop);
        await SignInAsync(page, pupil.Phone);
        await OpenChatAsync(page, "9А");
        await (await HeaderMenuItemAsync(page, "Материалы")).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Материалы чата" });
        var rows = dialog.Locator(".material-row");

        // A page is 30 messages, newest first; «Показать ещё» brings the oldest, then goes; the focus moves to it.
        await Expect(rows).ToHaveCountAsync(30);
        await Expect(rows.First).ToContainTextAsync("Лист 31.pdf");
        var more = dialog.GetByRole(AriaRole.Button, new() { Name = "Показать ещё" });
        await more.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(rows).ToHaveCountAsync(31);
        await Expect(rows.Last).ToContainTextAsync("Лист 1.pdf");
        await Expect(more).ToBeHiddenAsync();
        await Expect(rows.Last.GetByRole(AriaRole.Button, new() { Name = "Скачать Лист 1.pdf, 8 КБ" })).ToBeFocusedAsync();
    }

    [Fact]
    public async Task Admin_SeesStorage_UsedOfQuota_ByKind()
    {
        var school = await Scene.SchoolAsync("Школа №42");
        var jpeg = SampleFiles.Jpeg(800, 600);
        var pdf = SampleFiles.Pdf();
        await UploadAsync(school.Id, school.Admin, "доска.jpg", jpeg);
        await UploadAsync(school.Id, school.Admin, "План.pdf", pdf);
        var storage = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/storage"));
        var used = storage.GetProperty("usedBytes").GetInt64();
        Assert.True(used >= jpeg.Length + pdf.Length);
        // The rows add up to what is used: the photo's server-made preview is a row of its own.
        Assert.Equal(used, storage.GetProperty("byKind").EnumerateArray().Sum(k => k.GetProperty("bytes").GetInt64()));
        var preview = storage.GetProperty("byKind").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "preview");
        Assert.Equal((1, used - jpeg.Length - pdf.Length), (preview.GetProperty("files").GetInt32(), preview.GetProperty("bytes").GetInt64()));

        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Разделы" }).GetByRole(AriaRole.Link, new() { Name = "Хранилище" }).ClickAsync();
        var section = page.Locator("#adm-storage-sec");
        await Expect(section.GetByRole(AriaRole.Heading, new() { Name = "Хранилище" })).ToBeVisibleAsync();
        await Expect(section.Locator(".storage-used")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^Занято \d+ КБ из 50 ГБ \(меньше 0,1 %\)$"));
        var meter = section.GetByRole(AriaRole.Meter);
        await Expect(meter).ToHaveAttributeAsync("aria-labelledby", "adm-storage-used");
        Assert.Equal(used, (long)await meter.EvaluateAsync<double>("m => m.value"));
        await Expect(section.Locator("tr", new() { HasText = "Фото" }).Locator("td").Nth(1)).ToHaveTextAsync("1");
        await Expect(section.Locator("tr", new() { HasText = "Документы" }).Locator("td").Nth(2)).ToHaveTextAsync("64 КБ");
        await Expect(section.Locator("tr", new() { HasText = "Видео" }).Locator("td").Nth(1)).ToHaveTextAsync("0");
        await Expect(section.Locator("tr", new() { HasText = "Превью" }).Locator("td").Nth(1)).ToHaveTextAsync("1");
        await Expect(section).ToContainTextAsync("фото — 20 МБ, аудио — 50 МБ, видео — 2 ГБ, документы — 50 МБ");
        await section.ScrollIntoViewIfNeededAsync();
        await Screenshot(page, "admin-storage-desktop");
    }

    private static Task<Guid> UploadAsync(Guid schoolId, ApiUser who, string name, byte[] bytes) => School.UploadAsync(who, schoolId, name, bytes);
}
