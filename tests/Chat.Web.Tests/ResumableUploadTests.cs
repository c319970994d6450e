using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>A large file on a bad connection: sent in resumable chunks, a lost chunk waited out and resumed, the file posted intact.</summary>
[Collection(WebCollection.Name)]
public sealed class ResumableUploadTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task LargeFile_ChunkLostOnTheWay_ShowsReconnect_ResumesAndPostsTheWholeFile()
    {
        var school = await Scene.SchoolAsync("Школа №52");
        var classId = await school.ClassAsync("8Б");
        var teacher = await school.TeacherAsync("Ольга Петровна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Саша Белов", classId);
        var bytes = SampleFiles.Pdf(400_000);

        var teacherPage = await PageAsync(Phone);
        await SignInAsync(teacherPage, teacher.Phone);
        // 64 KB chunks instead of 4 MB: the 400 KB file goes in seven of them.
        await teacherPage.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(teacherPage, "8Б");
        var pupilPage = await PageAsync(Desktop);
        await SignInAsync(pupilPage, pupil.Phone);
        await OpenChatAsync(pupilPage, "8Б");

        // The network drops during the third chunk; its retry waits until the test has seen the page say so.
        var chunks = new List<string>();
        var thirdFailed = false;
        var reconnected = new TaskCompletionSource();
        await teacherPage.RouteAsync("**/uploads/*?offset=*", async route =>
        {
            var offset = route.Request.Url[(route.Request.Url.LastIndexOf('=') + 1)..];
            lock (chunks)
            {
                chunks.Add(offset);
            }

            if (offset == "131072" && !thirdFailed)
            {
                thirdFailed = true;
                await route.AbortAsync("internetdisconnected");
                return;
            }

            if (offset == "131072")
            {
                await reconnected.Task;
            }

            await route.ContinueAsync();
        });

        await teacherPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Запись урока и конспект");
        await teacherPage.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Конспект урока.pdf", "application/pdf", bytes));
        var row = teacherPage.Locator(".upload-tray .upload");
        await Expect(row).ToContainTextAsync("Нет связи — продолжим, когда сеть вернётся…");
        await Expect(row.GetByRole(AriaRole.Progressbar, new() { Name = "Загрузка Конспект урока.pdf" })).ToBeVisibleAsync();
        await Screenshot(teacherPage, "upload-reconnecting-phone");
        reconnected.SetResult();

        // The rest goes on from the server's offset; the message arrives with the whole file.
        var card = MessageCard(pupilPage, "Запись урока и конспект");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(teacherPage.Locator(".upload-tray")).ToHaveCountAsync(0);
        lock (chunks)
        {
            Assert.Equal(["0", "65536", "131072", "131072", "196608", "262144", "327680", "393216"], chunks);
        }

        var download = await pupilPage.RunAndWaitForDownloadAsync(() => card.GetByRole(AriaRole.Button, new() { Name = "Скачать Конспект урока.pdf" }).ClickAsync());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(await download.PathAsync()));
    }
}
