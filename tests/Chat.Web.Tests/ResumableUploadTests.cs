using System.Text.RegularExpressions;
using Chat.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>A large file on a bad connection: sent in resumable chunks, a lost chunk waited out and resumed, the file posted intact.</summary>
[Collection(WebCollection.Name)]
public sealed class ResumableUploadTests(WebApp app) : WebTest(app)
{
    /// <summary>
    /// A phone's photo of the homework is a few megabytes: over 1 MB a file goes as a resumable upload (before, up to
    /// 8 MB went in one request, started again from zero after every drop on 3G, and only on «Повторить»), and so do the
    /// other files of its message.
    /// </summary>
    [Fact]
    public async Task FileOverOneMegabyte_GoesResumable_EvenWithTheUsualChunks()
    {
        var school = await Scene.SchoolAsync("Школа №53");
        var classId = await school.ClassAsync("6Б");
        var teacher = await school.TeacherAsync("Ирина Львовна", classTeacherOf: classId);
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "6Б");
        var uploads = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        page.Request += (_, r) =>
        {
            var path = new Uri(r.Url).AbsolutePath;
            if (path.Contains("/uploads/", StringComparison.Ordinal) && r.Url.Contains("offset=", StringComparison.Ordinal))
            {
                uploads.AddOrUpdate(path, 1, (_, n) => n + 1);
            }
        };

        // With a small photo beside it, in one message: the message's files go all resumable (all kept for a reload).
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Домашнее задание на пятницу");
        await page.Locator("input[type=file]").SetInputFilesAsync(new[]
        {
            Upload.File("Задание.pdf", "application/pdf", SampleFiles.Pdf(1_500_000)),
            Upload.File("доска.jpg", "image/jpeg", SampleFiles.Jpeg(400, 300)),
        });
        var card = MessageCard(page, "Домашнее задание на пятницу");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(card.Locator(".file, .thumb")).ToHaveCountAsync(2);
        Assert.Equal(2, uploads.Count);
    }

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

        // Meanwhile the composer is free: the caption left with the upload, and what is typed now is the next message,
        // not this file's caption.
        var composer = teacherPage.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await Expect(composer).ToHaveValueAsync("");
        await composer.FillAsync("Следующее сообщение");
        reconnected.SetResult();

        // The rest goes on from the server's offset; the message arrives with the whole file and the caption typed first.
        var card = MessageCard(pupilPage, "Запись урока и конспект");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(composer).ToHaveValueAsync("Следующее сообщение");
        await Expect(teacherPage.Locator(".upload-tray")).ToHaveCountAsync(0);
        lock (chunks)
        {
            Assert.Equal(["0", "65536", "131072", "131072", "196608", "262144", "327680", "393216"], chunks);
        }

        var download = await pupilPage.RunAndWaitForDownloadAsync(() => card.GetByRole(AriaRole.Button, new() { Name = "Скачать Конспект урока.pdf" }).ClickAsync());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(await download.PathAsync()));
    }

    /// <summary>
    /// A request that hangs: the test is told it came (<paramref name="reached"/>), and only when <paramref name="release"/>
    /// ends (the page that sent it reloaded by then) is it dropped as by a lost network.
    /// </summary>
    private static async Task HangThenDropAsync(IRoute route, TaskCompletionSource reached, Task release)
    {
        reached.SetResult();
        await release;
        try
        {
            await route.AbortAsync("internetdisconnected");
        }
        catch (PlaywrightException)
        {
            // The page that sent it is gone.
        }
    }

    /// <summary>How many uploads the page keeps in IndexedDB for after a reload.</summary>
    private const string KeptCount = """
        () => new Promise(resolve => {
          const open = indexedDB.open('chat-uploads');
          open.onupgradeneeded = () => open.result.createObjectStore('uploads', { keyPath: 'uploadId' });
          open.onsuccess = () => {
            const count = open.result.transaction('uploads').objectStore('uploads').count();
            count.onsuccess = () => { open.result.close(); resolve(count.result); };
          };
        })
        """;

    /// <summary>
    /// The whole file reached the server, then the tab died before its message went out: after a reload the chat offers
    /// «Отправить «…»» (with the caption typed then), and it is posted once. One whose message did go out (only the answer
    /// was lost) is not offered again — the message's client id is kept with the upload.
    /// </summary>
    [Fact]
    public async Task LargeFile_UploadedButNotPosted_OfferedAfterAReload_PostedOnce_APostedOneIsNotOfferedAgain()
    {
        var school = await Scene.SchoolAsync("Школа №57");
        var classId = await school.ClassAsync("10Б");
        var teacher = await school.TeacherAsync("Лидия Петровна", classTeacherOf: classId);
        var bytes = SampleFiles.Pdf(300_000);
        var page = await PageAsync(Desktop);
        string? mode = null; // "hold": SendFiles never reaches the server; "lose": its answer never reaches the page
        string? lostAnswer = null;
        await RouteHubAsync(page,
            toServer: r =>
            {
                if (!Is(r, "target", "SendFiles"))
                {
                    return true;
                }

                if (mode == "lose")
                {
                    lostAnswer = r.GetProperty("invocationId").GetString();
                }

                return mode != "hold";
            },
            toPage: r => !(lostAnswer is { } id && r.TryGetProperty("type", out var type) && type.GetInt32() == 3 && Is(r, "invocationId", id)));
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "10Б");

        async Task UploadAsync(string name, string caption)
        {
            await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync(caption);
            await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File(name, "application/pdf", bytes));
            await Expect(page.Locator(".upload-tray")).ToContainTextAsync("загружено");
        }

        // The post never leaves the page: after the reload the finished upload is offered, and posted once.
        mode = "hold";
        await UploadAsync("Геометрия.pdf", "Контрольная по геометрии");
        await page.ReloadAsync();
        mode = null;
        await OpenChatAsync(page, "10Б");
        var offer = page.GetByRole(AriaRole.Button, new() { Name = "Отправить «Геометрия.pdf»" });
        await Expect(offer).ToBeVisibleAsync();
        await offer.ClickAsync();
        await Expect(MessageCard(page, "Контрольная по геометрии")).ToHaveCountAsync(1);
        await Expect(offer).ToHaveCountAsync(0);
        await Until(async () => await page.EvaluateAsync<int>(KeptCount) == 0);

        // Posted, but its answer is lost: after the reload the message is there once, and nothing is offered.
        mode = "lose";
        await UploadAsync("Алгебра.pdf", "Контрольная по алгебре");
        await Expect(MessageCard(page, "Контрольная по алгебре")).ToHaveCountAsync(1);
        await page.ReloadAsync();
        mode = null;
        await OpenChatAsync(page, "10Б");
        await Expect(MessageCard(page, "Контрольная по алгебре")).ToHaveCountAsync(1);
        await Until(async () => await page.EvaluateAsync<int>(KeptCount) == 0);
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Отправить «") })).ToHaveCountAsync(0);
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{await School.ChatIdAsync(teacher, school.Id, "10Б")}/messages"));
        Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Контрольная по алгебре");
        Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Контрольная по геометрии");
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(15); !await condition(); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "not within 15 s");
        }
    }

    [Fact]
    public async Task LargeFile_PageReloadedMidUpload_ContinuesFromServersOffset_PostedOnce_CancelAndSignOutForgetIt()
    {
        var school = await Scene.SchoolAsync("Школа №56");
        var classId = await school.ClassAsync("9А");
        var teacher = await school.TeacherAsync("Вера Николаевна", classTeacherOf: classId);
        var bytes = SampleFiles.Pdf(400_000);

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "9А");

        // The chunk at holdAt never reaches the server: the test reloads the page while it hangs.
        var chunks = new List<string>();
        string? holdAt = "196608";
        var reached = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        await page.RouteAsync("**/uploads/*?offset=*", async route =>
        {
            var offset = route.Request.Url[(route.Request.Url.LastIndexOf('=') + 1)..];
            lock (chunks)
            {
                chunks.Add(offset);
            }

            if (offset == holdAt)
            {
                holdAt = null;
                await HangThenDropAsync(route, reached, release.Task);
                return;
            }

            await route.ContinueAsync();
        });

        async Task InterruptAsync(string name, string caption)
        {
            await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync(caption);
            await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File(name, "application/pdf", bytes));
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(1, await page.EvaluateAsync<int>(KeptCount));
        }

        async Task ReloadAsync()
        {
            await page.ReloadAsync();
            release.SetResult();
            (reached, release) = (new TaskCompletionSource(), new TaskCompletionSource());
            await OpenChatAsync(page, "9А");
        }

        // Three chunks are on the server when the page is reloaded: the chat offers the rest, with the server's share.
        await InterruptAsync("Контрольная.pdf", "Контрольная работа по алгебре");
        await ReloadAsync();
        var resume = page.GetByRole(AriaRole.Button, new() { Name = "Продолжить загрузку «Контрольная.pdf» (49 %)" });
        await Expect(resume).ToBeVisibleAsync();
        await Expect(MessageCard(page, "Контрольная работа по алгебре")).ToHaveCountAsync(0);
        await Screenshot(page, "upload-resume-offer-desktop");

        // It goes on from byte 196 608 and is posted once, whole, with the caption typed before the reload.
        await resume.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeFocusedAsync();
        var card = MessageCard(page, "Контрольная работа по алгебре");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(page.Locator(".upload-tray")).ToHaveCountAsync(0);
        lock (chunks)
        {
            Assert.Equal(["0", "65536", "131072", "196608", "196608", "262144", "327680", "393216"], chunks);
            chunks.Clear();
        }

        var download = await page.RunAndWaitForDownloadAsync(() => card.GetByRole(AriaRole.Button, new() { Name = "Скачать Контрольная.pdf" }).ClickAsync());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(await download.PathAsync()));
        for (var deadline = DateTime.UtcNow.AddSeconds(10); await page.EvaluateAsync<int>(KeptCount) > 0; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the posted upload is still kept");
        }

        // Another one interrupted after its first chunk, then cancelled: gone here and on the server.
        holdAt = "65536";
        await InterruptAsync("Презентация.pdf", "Презентация к уроку");
        await ReloadAsync();
        var offer = page.GetByRole(AriaRole.Group, new() { Name = "Незавершённая загрузка «Презентация.pdf»" });
        await Expect(offer.GetByRole(AriaRole.Button, new() { Name = "Продолжить загрузку «Презентация.pdf» (16 %)" })).ToBeVisibleAsync();
        var uploadId = await page.EvaluateAsync<string>("""
            () => new Promise(resolve => { const open = indexedDB.open('chat-uploads'); open.onsuccess = () => {
              const all = open.result.transaction('uploads').objectStore('uploads').getAll(); all.onsuccess = () => resolve(all.result[0].uploadId); }; })
            """);
        await offer.GetByRole(AriaRole.Button, new() { Name = "Отменить загрузку «Презентация.pdf»" }).ClickAsync();
        await Expect(offer).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToBeFocusedAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(10); (await teacher.Http.GetAsync($"/api/schools/{school.Id}/uploads/{uploadId}")).IsSuccessStatusCode; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the cancelled upload is still on the server");
        }

        Assert.Equal(0, await page.EvaluateAsync<int>(KeptCount));
        await Expect(MessageCard(page, "Презентация к уроку")).ToHaveCountAsync(0);

        // A third one interrupted, then «Выйти»: the kept upload (and its file) leaves the browser with the session.
        holdAt = "65536";
        await InterruptAsync("Журнал.pdf", "Журнал");
        await page.GetByRole(AriaRole.Button, new() { Name = "Выйти" }).ClickAsync();
        await Expect(page.GetByLabel("Телефон или e-mail")).ToBeVisibleAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(10); await page.EvaluateAsync<int>(KeptCount) > 0; await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the upload is still kept after signing out");
        }

        release.SetResult();
    }

    /// <summary>
    /// An upload still being sent when its chat is left and opened again is not offered «Продолжить» (two loops on one
    /// upload would post the file twice): it goes on by itself and is posted once.
    /// </summary>
    [Fact]
    public async Task LargeFile_ChatLeftAndReopenedMidUpload_NotOfferedAgain_PostedOnce()
    {
        var school = await Scene.SchoolAsync("Школа №57");
        var classId = await school.ClassAsync("10А");
        var teacher = await school.TeacherAsync("Инна Сергеевна", classTeacherOf: classId);
        var bytes = SampleFiles.Pdf(300_000);

        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "10А");

        // The third chunk waits until the test has been to another chat and back.
        var reached = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var statusAsked = 0;
        await page.RouteAsync("**/uploads/*", async route =>
        {
            if (route.Request.Method == "GET")
            {
                Interlocked.Increment(ref statusAsked); // what offering «Продолжить» asks first
            }
            else if (route.Request.Url.EndsWith("offset=131072", StringComparison.Ordinal))
            {
                reached.TrySetResult();
                await release.Task;
            }

            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Задания к зачёту");
        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Зачёт.pdf", "application/pdf", bytes));
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await OpenChatAsync(page, "Общешкольный канал");
        await OpenChatAsync(page, "10А");
        await Expect(page.Locator(".messages[data-loaded]")).ToHaveCountAsync(1);
        // Opening the chat looks at its kept uploads at once; the one being sent is skipped before any request.
        await page.WaitForFunctionAsync("() => new Promise(r => setTimeout(() => r(true), 300))");
        Assert.Equal(0, Volatile.Read(ref statusAsked));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Продолжить загрузку «Зачёт.pdf»" })).ToHaveCountAsync(0);

        release.SetResult();
        await Expect(MessageCard(page, "Задания к зачёту")).ToHaveCountAsync(1);
        await OpenChatAsync(page, "Общешкольный канал");
        await OpenChatAsync(page, "10А");
        await Expect(MessageCard(page, "Задания к зачёту")).ToHaveCountAsync(1);
        await Expect(page.Locator(".kept-upload")).ToHaveCountAsync(0);
    }

    /// <summary>
    /// On 3G a resumable upload's declaration reaches the server and its answer is lost: the page declares it again under
    /// the id it chose (and kept before sending), gets the same upload back, and the file is posted once; the server holds
    /// one upload. Before, the tray said «Файл не отправлен», «Повторить» declared a second upload, and the first, known to
    /// nobody, held the file's size of the school's quota for a day.
    /// </summary>
    [Fact]
    public async Task LargeFile_DeclarationsAnswerLost_DeclaredAgainUnderTheSameId_PostedOnce_OneUploadOnTheServer()
    {
        var school = await Scene.SchoolAsync("Школа №65");
        var classId = await school.ClassAsync("11А");
        var teacher = await school.TeacherAsync("Марина Викторовна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "11А");
        var bytes = SampleFiles.Pdf(200_000);
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "11А");

        // The first declaration gets to the server, which stores the upload; its answer never gets back to the page.
        var declarations = new List<string>();
        await page.RouteAsync("**/api/schools/*/uploads", async route =>
        {
            if (route.Request.Method != "POST")
            {
                await route.ContinueAsync();
                return;
            }

            int count;
            lock (declarations)
            {
                declarations.Add(route.Request.PostData ?? "");
                count = declarations.Count;
            }

            if (count == 1)
            {
                await route.FetchAsync();
                await route.AbortAsync("internetdisconnected");
                return;
            }

            await route.ContinueAsync();
        });

        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Запись открытого урока");
        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Открытый урок.pdf", "application/pdf", bytes));
        var card = MessageCard(page, "Запись открытого урока");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(page.Locator(".upload-tray")).ToHaveCountAsync(0);

        // Declared twice under one id; one upload on the server, one message with the whole file.
        lock (declarations)
        {
            Assert.Equal(2, declarations.Count);
            var ids = declarations.Select(d => System.Text.Json.JsonDocument.Parse(d).RootElement.GetProperty("uploadId").GetGuid()).ToArray();
            Assert.Equal(ids[0], ids[1]);
        }

        Assert.Equal(1, await App.ExecuteSqlAsync("UPDATE file_uploads SET touched_at = touched_at WHERE school_id = @id", new { id = school.Id }));
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var posted = Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Запись открытого урока");
        var file = Assert.Single(posted.GetProperty("files").EnumerateArray());
        Assert.Equal(bytes.Length, file.GetProperty("size").GetInt64());
        await Until(async () => await page.EvaluateAsync<int>(KeptCount) == 0);
    }

    [Fact]
    public async Task FileUploaded_ConnectionLostBeforeItIsPosted_PostedOnceWhenTheNetworkIsBack()
    {
        var school = await Scene.SchoolAsync("Школа №53");
        var classId = await school.ClassAsync("7В");
        var teacher = await school.TeacherAsync("Ирина Львовна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "7В");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "7В");

        // The file reaches the server, but the network drops before the page hears back: the post cannot go out now.
        await page.RouteAsync("**/api/schools/*/files?*", async route =>
        {
            var response = await route.FetchAsync();
            await page.Context.SetOfflineAsync(true);
            await route.FulfillAsync(new() { Response = response });
        });
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Домашнее задание на неделю");
        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Задание.pdf", "application/pdf", SampleFiles.Pdf(20_000)));
        var tray = page.Locator(".upload-tray");
        await Expect(tray).ToContainTextAsync("загружено");
        await Expect(tray.GetByRole(AriaRole.Status)).ToContainTextAsync("Нет связи — отправим, когда сеть вернётся…");
        await Expect(tray.GetByRole(AriaRole.Button, new() { Name = "Отменить" })).ToBeVisibleAsync();

        // Back online: the same files are posted (not uploaded again), once, with the caption typed.
        await page.Context.SetOfflineAsync(false);
        await Expect(MessageCard(page, "Домашнее задание на неделю")).ToHaveCountAsync(1);
        await Expect(page.Locator(".upload-tray")).ToHaveCountAsync(0);
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var posted = Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Домашнее задание на неделю");
        Assert.Equal("Задание.pdf", Assert.Single(posted.GetProperty("files").EnumerateArray()).GetProperty("name").GetString());
    }
    /// <summary>
    /// On 3G a dead connection can hang without an error: an upload during which nothing moves for the stall time
    /// (1.5 s here, 30 s by default) is given up as lost — «Файл не отправлен» with «Повторить» — instead of a bar frozen
    /// for good; «Повторить» sends it and it is posted once.
    /// </summary>
    [Fact]
    public async Task SmallFile_UploadHangs_GivenUpAfterTheStall_RetryPostsItOnce()
    {
        var school = await Scene.SchoolAsync("Школа №54");
        var classId = await school.ClassAsync("5А");
        var teacher = await school.TeacherAsync("Нина Павловна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "5А");
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadStallMs', '1500')");
        await OpenChatAsync(page, "5А");

        // The first request goes nowhere and nothing comes back; later ones go through.
        var attempts = 0;
        var release = new TaskCompletionSource();
        await page.RouteAsync("**/api/schools/*/files?*", async route =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                await release.Task;
                return;
            }

            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Расписание экскурсии");
        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Экскурсия.pdf", "application/pdf", SampleFiles.Pdf(30_000)));
        var tray = page.Locator(".upload-tray");
        await Expect(tray.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Файл не отправлен: Нет соединения с сервером.");
        await Expect(page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" })).ToHaveValueAsync("Расписание экскурсии");

        await tray.GetByRole(AriaRole.Button, new() { Name = "Повторить" }).ClickAsync();
        await Expect(MessageCard(page, "Расписание экскурсии")).ToHaveCountAsync(1);
        await Expect(page.Locator(".upload-tray")).ToHaveCountAsync(0);
        Assert.Equal(2, Volatile.Read(ref attempts));
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var posted = Assert.Single(history.EnumerateArray(), m => m.GetProperty("text").GetString() == "Расписание экскурсии");
        Assert.Equal("Экскурсия.pdf", Assert.Single(posted.GetProperty("files").EnumerateArray()).GetProperty("name").GetString());
        release.SetResult();
    }

    /// <summary>
    /// A chunk that hangs (nothing moves for the stall time) is waited out like a dropped one: «Нет связи — продолжим…»,
    /// then the upload asks the server how much it has and goes on from there (before, a chunk had two minutes in all,
    /// so a hung one froze the row that long, and a 4 MB chunk on a 30 KB/s link never finished).
    /// </summary>
    [Fact]
    public async Task LargeFile_ChunkHangs_WaitedOutAfterTheStall_ResumesAndPostsTheWholeFile()
    {
        var school = await Scene.SchoolAsync("Школа №54");
        var classId = await school.ClassAsync("5Б");
        var teacher = await school.TeacherAsync("Вера Андреевна", classTeacherOf: classId);
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("""
            () => { localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024)); localStorage.setItem('chat.uploadStallMs', '1500'); }
            """);
        await OpenChatAsync(page, "5Б");
        var bytes = SampleFiles.Pdf(200_000);

        var chunks = new List<string>();
        var release = new TaskCompletionSource();
        var hung = false;
        await page.RouteAsync("**/uploads/*?offset=*", async route =>
        {
            var offset = route.Request.Url[(route.Request.Url.LastIndexOf('=') + 1)..];
            lock (chunks)
            {
                chunks.Add(offset);
            }

            if (offset == "65536" && !hung)
            {
                hung = true;
                await release.Task;
                return;
            }

            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Презентация к уроку");
        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Презентация.pdf", "application/pdf", bytes));

        var card = MessageCard(page, "Презентация к уроку");
        await Expect(card).ToHaveCountAsync(1);
        lock (chunks)
        {
            Assert.Equal(["0", "65536", "65536", "131072", "196608"], chunks);
        }

        var download = await page.RunAndWaitForDownloadAsync(() => card.GetByRole(AriaRole.Button, new() { Name = "Скачать Презентация.pdf" }).ClickAsync());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(await download.PathAsync()));
        release.SetResult();
    }
    /// <summary>
    /// A message of two files, the page reloaded when the first is on the server and the second half-sent: the chat offers
    /// the whole message once — «Продолжить загрузку «Доска.pdf», «Задание.pdf» (59 %)» — and posts both files together,
    /// with the caption, once (before, each was offered and posted on its own, the caption twice).
    /// </summary>
    [Fact]
    public async Task MessageOfTwoFiles_ReloadedWithOneHalfSent_OfferedAsOneMessage_PostedTogetherOnce()
    {
        var school = await Scene.SchoolAsync("Школа №59");
        var classId = await school.ClassAsync("6Г");
        var teacher = await school.TeacherAsync("Лидия Ивановна", classTeacherOf: classId);
        var chatId = await School.ChatIdAsync(teacher, school.Id, "6Г");
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "6Г");

        // The second file's fourth chunk hangs until the page is gone.
        var reached = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var held = false;
        await page.RouteAsync("**/uploads/*?offset=*", async route =>
        {
            if (route.Request.Url.EndsWith("offset=196608", StringComparison.Ordinal) && !held)
            {
                held = true;
                await HangThenDropAsync(route, reached, release.Task);
                return;
            }

            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Задание с доски на завтра");
        await page.Locator("input[type=file]").SetInputFilesAsync(new[]
        {
            Upload.File("Доска.pdf", "application/pdf", SampleFiles.Pdf(100_000)),
            Upload.File("Задание.pdf", "application/pdf", SampleFiles.Pdf(400_000)),
        });
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await page.ReloadAsync();
        release.SetResult();
        await OpenChatAsync(page, "6Г");

        var offers = page.Locator(".kept-upload");
        await Expect(offers).ToHaveCountAsync(1);
        var resume = offers.GetByRole(AriaRole.Button, new() { Name = "Продолжить загрузку «Доска.pdf», «Задание.pdf» (59 %)" });
        await Expect(resume).ToBeVisibleAsync();
        await resume.ClickAsync();

        var card = MessageCard(page, "Задание с доски на завтра");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(card.GetByRole(AriaRole.Button, new() { Name = "Скачать Доска.pdf" })).ToBeVisibleAsync();
        await Expect(card.GetByRole(AriaRole.Button, new() { Name = "Скачать Задание.pdf" })).ToBeVisibleAsync();
        await Expect(page.Locator(".kept-upload, .upload-tray")).ToHaveCountAsync(0);
        var history = await Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/messages"));
        var posted = Assert.Single(history.EnumerateArray(), m => m.GetProperty("kind").GetString() == "files");
        Assert.Equal("Задание с доски на завтра", posted.GetProperty("text").GetString());
        Assert.Equal(["Доска.pdf", "Задание.pdf"], posted.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
    }
    /// <summary>
    /// On 3G the access token runs out mid-upload and the renewal is lost on the way (the session still holds): the upload
    /// waits it out like any drop and goes on (before, the chunk's 401 stood, «Файл не отправлен: Войдите в систему.»,
    /// and the kept upload was forgotten — a 300 MB lesson started again from zero).
    /// </summary>
    [Fact]
    public async Task LargeFile_TokenRenewalLostOnTheWay_WaitedOut_ThePostGoesThrough()
    {
        var school = await Scene.SchoolAsync("Школа №60");
        var classId = await school.ClassAsync("11А");
        var teacher = await school.TeacherAsync("Светлана Юрьевна", classTeacherOf: classId);
        var page = await PageAsync(Phone);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "11А");

        // The third chunk is answered 401 (the token ran out), and the first renewal after it never reaches the server.
        var expired = false;
        var renewalLost = false;
        await page.RouteAsync("**/uploads/*?offset=*", async route =>
        {
            if (route.Request.Url.EndsWith("offset=131072", StringComparison.Ordinal) && !expired)
            {
                expired = true;
                await route.FulfillAsync(new() { Status = 401, ContentType = "application/problem+json", Body = """{"title":"Войдите в систему.","code":"unauthorized"}""" });
                return;
            }

            await route.ContinueAsync();
        });
        await page.RouteAsync("**/api/auth/refresh", async route =>
        {
            if (!renewalLost)
            {
                renewalLost = true;
                await route.AbortAsync("internetdisconnected");
                return;
            }

            await route.ContinueAsync();
        });

        await page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" }).FillAsync("Видео лабораторной работы");
        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Лабораторная.pdf", "application/pdf", SampleFiles.Pdf(300_000)));
        await Expect(MessageCard(page, "Видео лабораторной работы")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        await Expect(page.Locator(".upload-tray")).ToHaveCountAsync(0);
        Assert.True(expired && renewalLost);
    }
    /// <summary>
    /// A resumable upload the server refuses: the row names the file with the server's reason, and the page cancels the
    /// upload on the server (DELETE), which matters after a quota refusal — the server keeps such an upload for a client
    /// that would continue it, holding its room. The refusal used here (content not what the name says) is one the
    /// server removes the upload after by itself, so this proves the page's cancel, not the room freed (the web tests'
    /// quota is too large to run out of).
    /// </summary>
    [Fact]
    public async Task LargeFile_Refused_ItsRowSaysWhy_TheUploadIsCancelledOnTheServer()
    {
        var school = await Scene.SchoolAsync("Школа №61");
        var classId = await school.ClassAsync("8Д");
        var teacher = await school.TeacherAsync("Тамара Ильинична", classTeacherOf: classId);
        var page = await PageAsync(Desktop);
        await SignInAsync(page, teacher.Phone);
        await page.EvaluateAsync("() => localStorage.setItem('chat.uploadChunkBytes', String(64 * 1024))");
        await OpenChatAsync(page, "8Д");
        var cancelled = new TaskCompletionSource<string>();
        page.Request += (_, r) =>
        {
            if (r.Method == "DELETE" && new Uri(r.Url).AbsolutePath.Contains("/uploads/", StringComparison.Ordinal))
            {
                cancelled.TrySetResult(new Uri(r.Url).AbsolutePath);
            }
        };

        await page.Locator("input[type=file]").SetInputFilesAsync(Upload.File("Оценки.csv", "text/csv", SampleFiles.Pdf(300_000)));
        await Expect(page.Locator(".upload-tray .refused")).ToContainTextAsync("Файл «Оценки.csv» не отправлен:");
        var path = await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var uploadId = path[(path.LastIndexOf('/') + 1)..];
        Assert.False((await teacher.Http.GetAsync($"/api/schools/{school.Id}/uploads/{uploadId}")).IsSuccessStatusCode);
        Assert.Equal(0, await page.EvaluateAsync<int>(KeptCount));
    }
}
