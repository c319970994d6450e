using System.Net.Http.Json;
using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>On a flaky connection a file fetched on the way back is not taken for gone: the page offers to try again.</summary>
[Collection(WebCollection.Name)]
public sealed class FileRetryTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task PreviewPhotoAndVoiceNote_LostOnTheWay_AreFetchedAgain_NotShownAsUnavailable()
    {
        var school = await Scene.SchoolAsync("Школа №17");
        var classId = await school.ClassAsync("8Г");
        var sender = await school.PupilAsync("Лена Фролова", classId);
        var reader = await school.PupilAsync("Миша Зайцев", classId);
        var senderPage = await PageAsync(Desktop);
        await SignInAsync(senderPage, sender.Phone);
        await OpenChatAsync(senderPage, "8Г");
        await senderPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Доска и голосовое");
        await senderPage.Locator("input[type=file]").SetInputFilesAsync(new[]
        {
            Upload.File("доска.jpg", "image/jpeg", SampleFiles.Jpeg(800, 600)),
            Upload.File("голосовое.mp3", "audio/mpeg", SampleFiles.Mp3()),
        });
        await Expect(senderPage.Locator(".upload-tray")).ToHaveCountAsync(0);

        // The reader's phone loses the first fetch of each file (the preview, the photo, the voice note).
        var page = await PageAsync(Phone);
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await page.RouteAsync("**/api/files/**", async route =>
        {
            var path = new Uri(route.Request.Url).AbsolutePath;
            if (seen.AddOrUpdate(path, 1, (_, n) => n + 1) == 1)
            {
                await route.AbortAsync("internetdisconnected");
                return;
            }

            await route.ContinueAsync();
        });
        await SignInAsync(page, reader.Phone);
        await OpenChatAsync(page, "8Г");
        var card = MessageCard(page, "Доска и голосовое");

        // The preview says it did not load; the button still opens the photo, whose first fetch is lost too: «Повторить».
        var thumb = card.GetByRole(AriaRole.Button, new() { Name = "Открыть изображение доска.jpg" });
        await Expect(thumb).ToHaveTextAsync("Превью не загрузилось — открыть фото");
        await thumb.ClickAsync();
        var viewer = page.GetByRole(AriaRole.Dialog, new() { Name = "доска.jpg" });
        await Expect(viewer.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Фото не загрузилось: нет связи с сервером.");
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Повторить" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('dialog .full-img')?.naturalWidth === 800");
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();

        // The voice note: «▶ Слушать» fails once, says so and works again.
        var listen = card.GetByRole(AriaRole.Button, new() { Name = "Слушать голосовое.mp3" });
        await listen.ClickAsync();
        await Expect(card.Locator(".file.audio").GetByRole(AriaRole.Alert)).ToHaveTextAsync("Не загрузилось: нет связи с сервером. Нажмите ещё раз.");
        await Expect(listen).ToBeEnabledAsync();
        await listen.ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('.file.audio audio')?.duration > 2");
        await Expect(card.GetByText("Файл недоступен")).ToHaveCountAsync(0);
    }

    /// <summary>
    /// A mother picks fourteen photos of the trip at once: they go out as two messages (ten and four), the caption with
    /// the first, instead of all uploading and then being refused. One upload lost on the way: «Повторить» sends again
    /// only what did not reach the server.
    /// </summary>
    [Fact]
    public async Task FourteenPhotosAtOnce_GoAsTwoMessages_ARetryUploadsOnlyWhatWasLost()
    {
        var school = await Scene.SchoolAsync("Школа №18");
        var classId = await school.ClassAsync("4Б");
        var pupil = await school.PupilAsync("Соня Лебедева", classId);
        var mother = await school.ParentAsync("Ольга Лебедева", pupil.Id);
        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await OpenChatAsync(page, "Родители 4Б");
        var photo = SampleFiles.Jpeg(400, 300);
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Экскурсия в музей");
        await page.Locator("input[type=file]").SetInputFilesAsync(
            Enumerable.Range(1, 14).Select(i => Upload.File($"фото{i:00}.jpg", "image/jpeg", photo)).ToArray());
        await Expect(page.Locator(".upload-tray")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        ILocator WithPhoto(string name) => page.Locator(".msg", new() { Has = page.GetByRole(AriaRole.Button, new() { Name = "Открыть изображение " + name }) });
        var posted = page.Locator(".msg", new() { Has = page.Locator("[data-file-id]") });
        await Expect(posted).ToHaveCountAsync(2);
        await Expect(posted.First).ToContainTextAsync("Экскурсия в музей"); // in the order chosen, the caption with the first
        await Expect(WithPhoto("фото01.jpg").Locator("[data-file-id]")).ToHaveCountAsync(10);
        await Expect(WithPhoto("фото01.jpg")).ToContainTextAsync("Экскурсия в музей");
        await Expect(WithPhoto("фото14.jpg").Locator("[data-file-id]")).ToHaveCountAsync(4);
        await Expect(WithPhoto("фото14.jpg")).Not.ToContainTextAsync("Экскурсия в музей");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveCountAsync(0);

        // Three more; the third's upload is lost once.
        var uploads = new System.Collections.Concurrent.ConcurrentBag<string>();
        await page.RouteAsync("**/api/schools/*/files?*", async route =>
        {
            var name = Uri.UnescapeDataString(new Uri(route.Request.Url).Query);
            uploads.Add(name);
            if (name.Contains("третье.jpg", StringComparison.Ordinal) && uploads.Count(u => u.Contains("третье.jpg", StringComparison.Ordinal)) == 1)
            {
                await route.AbortAsync("internetdisconnected");
                return;
            }

            await route.ContinueAsync();
        });
        await page.Locator("input[type=file]").SetInputFilesAsync(new[]
        {
            Upload.File("первое.jpg", "image/jpeg", photo), Upload.File("второе.jpg", "image/jpeg", photo), Upload.File("третье.jpg", "image/jpeg", photo),
        });
        var tray = page.Locator(".upload-tray");
        await Expect(tray.GetByRole(AriaRole.Alert)).ToContainTextAsync("Файл не отправлен");
        await tray.GetByRole(AriaRole.Button, new() { Name = "Повторить" }).ClickAsync();
        await Expect(tray).ToHaveCountAsync(0);
        await Expect(WithPhoto("третье.jpg").Locator("[data-file-id]")).ToHaveCountAsync(3);
        Assert.Equal(1, uploads.Count(u => u.Contains("первое.jpg", StringComparison.Ordinal)));
        Assert.Equal(1, uploads.Count(u => u.Contains("второе.jpg", StringComparison.Ordinal)));
        Assert.Equal(2, uploads.Count(u => u.Contains("третье.jpg", StringComparison.Ordinal)));
    }

    /// <summary>
    /// A lesson's recording is played by the browser's own player from a short-lived link, in ranges as it goes (not
    /// loaded whole into memory first); a document is saved by the browser's own download from such a link.
    /// </summary>
    [Fact]
    public async Task Video_PlaysStreamedInRanges_DocumentDownloadsThroughTheBrowser()
    {
        var school = await Scene.SchoolAsync("Школа №19");
        var classId = await school.ClassAsync("9А");
        var teacher = await school.TeacherAsync("Анна Физикова", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Дима Орлов", classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "9А");
        var video = await UploadAsync(teacher, school.Id, "Опыт.mp4", SampleFiles.Mp4(4));
        var pdf = await UploadAsync(teacher, school.Id, "Задачи.pdf", SampleFiles.Pdf());
        await School.SendFilesAsync(teacher, chatId, [video, pdf], "Запись опыта и задачи");

        var page = await PageAsync(Phone);
        await SignInAsync(page, pupil.Phone);
        await OpenChatAsync(page, "9А");
        var card = MessageCard(page, "Запись опыта и задачи");
        // The player itself asks for the bytes, in ranges (the sample is a bare MP4 header: the request is what counts).
        var streamed = page.WaitForRequestAsync(r => r.Url.Contains("/stream?", StringComparison.Ordinal) && r.Headers.ContainsKey("range"));
        await card.GetByRole(AriaRole.Button, new() { Name = "▶ Смотреть видео" }).ClickAsync();
        var request = await streamed;
        Assert.Equal("media", request.ResourceType);
        Assert.StartsWith("bytes=", request.Headers["range"], StringComparison.Ordinal);
        Assert.Contains("/stream?", await page.EvaluateAsync<string>("() => document.querySelector('video.video-player').src"), StringComparison.Ordinal);

        var download = await page.RunAndWaitForDownloadAsync(() => card.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Скачать Задачи\\.pdf") }).ClickAsync());
        Assert.Equal("Задачи.pdf", download.SuggestedFilename);
        Assert.Equal(SampleFiles.Pdf(), await File.ReadAllBytesAsync(await download.PathAsync()));
    }

    /// <summary>
    /// A family tablet: the mother looked at a class photo and a voice note, then signed out. What the page fetched goes
    /// with the session: the next person on the tablet cannot read the photo or the voice note from the page's memory.
    /// </summary>
    [Fact]
    public async Task SignOut_LetsGoOfThePhotosAndVoiceNotesThePageFetched()
    {
        var school = await Scene.SchoolAsync("Школа №20");
        var classId = await school.ClassAsync("4Б");
        var teacher = await school.TeacherAsync("Ольга Ивановна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Саша Титов", classId);
        var mother = await school.ParentAsync("Ирина Титова", pupil.Id);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "Родители 4Б");
        var photo = await UploadAsync(teacher, school.Id, "Утренник.jpg", SampleFiles.Jpeg(800, 600));
        var voice = await UploadAsync(teacher, school.Id, "Объявление.mp3", SampleFiles.Mp3());
        await School.SendFilesAsync(teacher, chatId, [photo, voice], "Фото с утренника и объявление");

        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await OpenChatAsync(page, "Родители 4Б");
        var card = MessageCard(page, "Фото с утренника и объявление");
        await page.WaitForFunctionAsync("() => document.querySelector('.thumb img')?.naturalWidth > 0");
        await card.GetByRole(AriaRole.Button, new() { Name = "Открыть изображение Утренник.jpg" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('dialog .full-img')?.naturalWidth === 800");
        var thumbUrl = await page.EvaluateAsync<string>("() => document.querySelector('.thumb img').src");
        var fullUrl = await page.EvaluateAsync<string>("() => document.querySelector('dialog .full-img').src");
        const string Readable = "async url => { try { await (await fetch(url)).arrayBuffer(); return true; } catch { return false; } }";
        foreach (var url in new[] { thumbUrl, fullUrl })
        {
            Assert.StartsWith("blob:", url, StringComparison.Ordinal);
            Assert.True(await page.EvaluateAsync<bool>(Readable, url), $"{url} is readable while signed in");
        }

        // Over the page's budget (lowered here to nothing), the least recently used that is not on screen goes: the full
        // photo, closed; not the preview still shown in the chat, nor the voice note just fetched.
        await page.GetByRole(AriaRole.Dialog, new() { Name = "Утренник.jpg" }).GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await page.EvaluateAsync("async () => { (await import('/js/files.js')).fileCache.bytes = 1; }");
        await card.GetByRole(AriaRole.Button, new() { Name = "Слушать Объявление.mp3" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('.file.audio audio')?.duration > 2");
        var voiceUrl = await page.EvaluateAsync<string>("() => document.querySelector('.file.audio audio').src");
        Assert.False(await page.EvaluateAsync<bool>(Readable, fullUrl), "the closed full photo is kept over the budget");
        Assert.True(await page.EvaluateAsync<bool>(Readable, thumbUrl), "the preview on screen was let go");
        Assert.True(await page.EvaluateAsync<bool>(Readable, voiceUrl), "the voice note just fetched was let go");
        var urls = new[] { thumbUrl, voiceUrl };

        await page.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToBeVisibleAsync();
        foreach (var url in urls)
        {
            Assert.False(await page.EvaluateAsync<bool>(Readable, url), $"{url} is still readable after signing out");
        }
    }

    private static Task<Guid> UploadAsync(ApiUser who, Guid schoolId, string name, byte[] bytes) => School.UploadAsync(who, schoolId, name, bytes);
}
