using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Voice notes recorded in the browser (Chromium's fake microphone): sent, cancelled, and refused without a microphone.</summary>
[Collection(WebCollection.Name)]
public sealed class VoiceNoteTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Parent_RecordsVoiceNote_TeacherHearsIt_CancelSendsNothing_NoMicrophoneExplained()
    {
        var school = await Scene.SchoolAsync("Школа №41");
        var classId = await school.ClassAsync("3А");
        var teacher = await school.TeacherAsync("Вера Андреевна", classTeacherOf: classId);
        var pupil = await school.PupilAsync("Тима Зайцев", classId);
        var parent = await school.ParentAsync("Анна Зайцева", pupil.Id);

        var parentPage = await PageAsync(Phone, await App.MediaBrowserAsync());
        await SignInAsync(parentPage, parent.Phone);
        await OpenChatAsync(parentPage, "Родители 3А");
        var record = parentPage.GetByRole(AriaRole.Button, new() { Name = "Записать голосовое сообщение" });
        var recorder = parentPage.GetByRole(AriaRole.Group, new() { Name = "Запись голосового сообщения" });

        // «Отмена» throws the recording away: nothing is uploaded or sent, the focus is back on the button.
        await record.ClickAsync();
        await Expect(recorder.Locator(".voice-time")).ToHaveTextAsync("0:01");
        await recorder.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(recorder).ToHaveCountAsync(0);
        await Expect(record).ToBeFocusedAsync();

        // A note of about two seconds: the elapsed time runs, «Отправить» uploads and posts it. The first upload is
        // lost on the way (the phone's network drops): the note is not lost, «Повторить» sends it.
        var dropped = 0;
        await parentPage.RouteAsync("**/api/schools/*/files?*", async route =>
        {
            if (route.Request.Method == "POST" && Interlocked.Increment(ref dropped) == 1)
            {
                await route.AbortAsync("internetdisconnected");
                return;
            }

            await route.ContinueAsync();
        });
        await record.ClickAsync();
        await Expect(recorder).ToContainTextAsync("● Запись");
        await Expect(record).ToBeDisabledAsync();
        await Expect(recorder.Locator(".voice-time")).ToHaveTextAsync("0:02");
        await Expect(recorder.Locator(".voice-left")).ToBeHiddenAsync(); // the countdown shows only near the 5-minute limit
        await Screenshot(parentPage, "voice-note-recording-phone");
        await recorder.GetByRole(AriaRole.Button, new() { Name = "Отправить" }).ClickAsync();
        var tray = parentPage.Locator(".upload-tray");
        await Expect(tray.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Файл не отправлен: Нет соединения с сервером.");
        await tray.GetByRole(AriaRole.Button, new() { Name = "Повторить" }).ClickAsync();
        var sent = parentPage.Locator(".msg:not(.pending) .file.audio");
        await Expect(sent).ToHaveCountAsync(1);
        await Expect(sent.Locator(".file-name")).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"Голосовое сообщение\.webm · 0:0[23]"));
        await Expect(parentPage.Locator(".upload-tray")).ToHaveCountAsync(0);

        // The class teacher gets one message with one audio player; the note decodes with a real duration.
        var teacherPage = await PageAsync(Desktop);
        await SignInAsync(teacherPage, teacher.Phone);
        await OpenChatAsync(teacherPage, "Родители 3А");
        var heard = teacherPage.Locator(".msg:not(.pending) .file.audio");
        await Expect(heard).ToHaveCountAsync(1);
        await Expect(heard.Locator(".file-name")).ToContainTextAsync("🎤 Голосовое сообщение.webm");
        await heard.GetByRole(AriaRole.Button, new() { Name = "Слушать Голосовое сообщение.webm" }).ClickAsync();
        await Expect(heard.Locator("audio")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^blob:"));
        await teacherPage.WaitForFunctionAsync("() => { const d = document.querySelector('.file.audio audio')?.duration; return d > 1 && d < 10; }");
        await Screenshot(teacherPage, "voice-note-received-desktop");

        // The server filed it as audio (content sniffing: an audio-only WebM), with its duration.
        var chatId = await School.ChatIdAsync(teacher, school.Id, "Родители 3А");
        var files = await Chat.Web.Tests.Scene.Read(await teacher.Http.GetAsync($"/api/chats/{chatId}/files?kind=audio"));
        Assert.Equal(1, files.GetArrayLength());
        var file = files[0].GetProperty("file");
        Assert.Equal("audio/webm", file.GetProperty("contentType").GetString());
        Assert.InRange(file.GetProperty("durationMs").GetInt64(), 1500, 5000);

        // No microphone permission: a clear notice, no recorder, the button works again.
        await parentPage.EvaluateAsync("() => { navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError')); }");
        await record.ClickAsync();
        await Expect(parentPage.GetByRole(AriaRole.Alert)).ToContainTextAsync("Нет доступа к микрофону");
        await Expect(recorder).ToHaveCountAsync(0);
        await Expect(record).ToBeEnabledAsync();
        await Expect(parentPage.Locator(".msg:not(.pending) .file.audio")).ToHaveCountAsync(1);
    }
}
