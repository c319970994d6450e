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
}
