using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>
/// The call page's «Камера» and «Микрофон», the speaking ring and the layout of many tiles, in Chromium with its fake
/// devices (three microphones that beep, one camera). These tests have no Janus: publishing gets the devices and a
/// peer connection whose senders are real, but the media server answers «недоступен»; media through Janus (the ring on
/// someone else's tile) is checked by CallBrowserTests in its network namespace.
/// </summary>
[Collection(WebCollection.Name)]
public sealed partial class CallDeviceTests(WebApp app) : WebTest(app)
{
    /// <summary>The labels of the tracks on my publisher's senders (an empty sender: "").</summary>
    private const string SenderLabels = "kind => window.callState.publisher.getTransceivers().filter(t => t.receiver.track.kind === kind).map(t => t.sender.track ? t.sender.track.label : '')";

    [Fact]
    public async Task BrowserRefusesCameraAndScreen_PageSaysWhatItMeans_InRussian()
    {
        var school = await Scene.SchoolAsync("Школа №42");
        var classId = await school.ClassAsync("8А");
        var teacher = await school.TeacherAsync("Ирина Львовна", classTeacherOf: classId);

        // The browser refuses the camera and microphone (as after «Блокировать» in its prompt) and the screen (its
        // picker closed without a choice); its own texts are English.
        var page = await PageAsync(Desktop, await App.MediaBrowserAsync());
        await page.Context.AddInitScriptAsync("""
            if (navigator.mediaDevices) {
              navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
              navigator.mediaDevices.getDisplayMedia = () => Promise.reject(new DOMException('Permission denied by user', 'NotAllowedError'));
            }
            """);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "8А");
        var call = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        var status = call.Locator("#status");
        await Expect(status).ToHaveTextAsync("Камера и микрофон не найдены или доступ к ним не разрешён: вы в звонке без видео и звука.");
        await Expect(call.Locator("#participants li", new() { HasText = "Ирина Львовна (вы)" })).ToHaveCountAsync(1);

        // She tries again: the page says what the refusal means and how to undo it, not «Permission denied».
        await call.GetByRole(AriaRole.Button, new() { Name = "Включить микрофон и камеру" }).ClickAsync();
        await Expect(status).ToHaveTextAsync("Браузер не дал доступ к камере или микрофону. Разрешите его в настройках сайта (значок слева от адреса) и попробуйте снова.");
        await Expect(status).ToHaveClassAsync("error");
        await Expect(call.GetByRole(AriaRole.Button, new() { Name = "Включить микрофон и камеру" })).ToBeEnabledAsync();

        // The screen picker closed without a choice: said plainly, not as an error, and she may try again.
        var share = call.GetByRole(AriaRole.Button, new() { Name = "Показать экран" });
        await share.ClickAsync();
        await Expect(status).ToHaveTextAsync("Показ экрана отменён.");
        await Expect(status).Not.ToHaveClassAsync("error");
        await Expect(share).ToBeEnabledAsync();
        Assert.DoesNotContain("Permission", await call.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Teacher_SwitchesMicrophoneCameraAndSpeaker_InTheCall_ChoiceRemembered_UnpluggedMicFallsBack_OwnTileRingsWhenSpeaking()
    {
        var school = await Scene.SchoolAsync("Школа №41");
        var classId = await school.ClassAsync("6Г");
        var teacher = await school.TeacherAsync("Наталья Андреевна", classTeacherOf: classId);

        var page = await PageAsync(Desktop, await App.MediaBrowserAsync());
        // The page tries publishing again while the media server is away; here it waits after its first try, so the
        // devices are switched on that attempt's connection (MediaServerAway_… covers the retries).
        await page.Context.AddInitScriptAsync(RetryPlan(every: 600_000, @for: 600_000));
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "6Г");
        var call = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        var me = call.Locator("#participants li", new() { HasText = "Наталья Андреевна (вы)" });
        await Expect(me).ToHaveCountAsync(1);
        // No Janus here: the devices are on, the media server is not.
        var status = call.Locator("#status");
        await Expect(status).ToContainTextAsync("Медиасервер звонков временно недоступен");
        var statusText = await status.TextContentAsync();

        // The selects list the fake devices by name (access was given), the ones in use selected.
        var mic = call.GetByLabel("Микрофон");
        var camera = call.GetByLabel("Камера");
        await Expect(mic.Locator("option")).ToHaveTextAsync(["Fake Default Audio Input", "Fake Audio Input 1", "Fake Audio Input 2"]);
        await Expect(camera.Locator("option")).ToHaveTextAsync(["fake_device_0", "Без камеры"]);
        await Expect(mic).ToHaveValueAsync("default");
        Assert.Equal(["Fake Default Audio Input"], await call.EvaluateAsync<string[]>(SenderLabels, "audio"));

        // My own tile rings while the fake microphone beeps, and the list says «говорит» (no live region for it).
        var myTile = call.Locator("#videos .tile[data-local]");
        await Expect(myTile).ToHaveClassAsync(Speaking());
        await Expect(me).ToContainTextAsync("говорит");
        await Expect(me).ToHaveClassAsync(Speaking());
        Assert.Equal(0, await call.Locator("[aria-live]").CountAsync());
        await Screenshot(call, "call-devices-desktop");

        // Another microphone (keyboard): its track replaces the old one on the same sender; the call goes on, no error.
        await mic.FocusAsync();
        await mic.SelectOptionAsync(new SelectOptionValue { Label = "Fake Audio Input 1" });
        await call.WaitForFunctionAsync($"() => ({SenderLabels})('audio')[0] === 'Fake Audio Input 1'");
        var sameConnection = await call.EvaluateAsync<bool>("() => window.callState.publisher.connectionState !== 'closed'");
        Assert.True(sameConnection);
        await Expect(mic).ToBeFocusedAsync();
        await Expect(me).ToHaveCountAsync(1);
        await Expect(status).ToHaveTextAsync(statusText!);
        await Expect(call.Locator(".toast")).ToHaveCountAsync(0);
        await Expect(myTile).ToHaveClassAsync(Speaking()); // the new microphone beeps too

        // «Динамик»: the browser's outputs, the default one first; another one is taken at once and remembered.
        var speaker = call.GetByLabel("Динамик");
        await Expect(speaker.Locator("option")).ToHaveTextAsync(["Fake Default Audio Output", "Fake Audio Output 1", "Fake Audio Output 2"]);
        await Expect(speaker).ToHaveValueAsync("default");
        await speaker.SelectOptionAsync(new SelectOptionValue { Label = "Fake Audio Output 1" });
        await call.WaitForFunctionAsync("() => JSON.parse(localStorage.getItem('chat.callDevices')).speaker === document.getElementById('speaker').value");
        await Expect(speaker.Locator("option:checked")).ToHaveTextAsync("Fake Audio Output 1");
        await Expect(call.Locator(".toast")).ToHaveCountAsync(0);

        // «Без камеры»: the video sender is emptied; both choices are remembered in this browser.
        await camera.SelectOptionAsync(new SelectOptionValue { Label = "Без камеры" });
        await call.WaitForFunctionAsync($"() => ({SenderLabels})('video')[0] === ''");
        Assert.Empty(await call.EvaluateAsync<string[]>("() => window.callState.local.getVideoTracks().map(t => t.label)"));
        await Expect(me).ToHaveCountAsync(1);

        // «Видео других» (for a poor connection): automatic at first; «ничьё» is remembered with the devices.
        var receive = call.GetByLabel("Видео других");
        await Expect(receive).ToHaveValueAsync("auto");
        await receive.SelectOptionAsync("none");

        // Joining again (a second page of the same browser) uses the remembered microphone, no camera and no video of others.
        var callId = await call.EvaluateAsync<string>("() => state.callId");
        var again = await call.Context.NewPageAsync();
        await again.GotoAsync($"{App.BaseUrl}/call.html#call={callId}&autostart=1");
        await Expect(again.Locator("#status")).ToContainTextAsync("Медиасервер звонков временно недоступен");
        await Expect(again.GetByLabel("Микрофон").Locator("option:checked")).ToHaveTextAsync("Fake Audio Input 1");
        await Expect(again.GetByLabel("Камера")).ToHaveValueAsync("none");
        await Expect(again.GetByLabel("Динамик").Locator("option:checked")).ToHaveTextAsync("Fake Audio Output 1");
        await Expect(again.GetByLabel("Видео других")).ToHaveValueAsync("none");
        Assert.Equal(0, await again.EvaluateAsync<int>("() => videoBudget()"));
        Assert.Equal(["Fake Audio Input 1"], await again.EvaluateAsync<string[]>(SenderLabels, "audio"));
        Assert.Equal([""], await again.EvaluateAsync<string[]>(SenderLabels, "video"));

        // The microphone in use is unplugged (the browser's device list loses it and says so): the default one takes
        // over on the same sender, with a notice.
        await again.EvaluateAsync("""
            () => {
              const list = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
              navigator.mediaDevices.enumerateDevices = async () => (await list()).filter(d => d.label !== 'Fake Audio Input 1');
              navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
            }
            """);
        await Expect(again.Locator(".toast")).ToHaveTextAsync(new Regex("^Микрофон «Fake Audio Input 1» отключён: включён микрофон по умолчанию\\."));
        await again.WaitForFunctionAsync($"() => ({SenderLabels})('audio')[0] === 'Fake Default Audio Input'");
        await Expect(again.GetByLabel("Микрофон").Locator("option")).ToHaveTextAsync(["Fake Default Audio Input", "Fake Audio Input 2"]);
        await Expect(again.GetByLabel("Микрофон")).ToHaveValueAsync("default");
        await Expect(again.Locator("#participants li", new() { HasText = "(вы)" })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task MediaServerAway_AtJoin_CameraKeptWhileRetrying_ThenTurnedOff_TheButtonTriesAgain()
    {
        var school = await Scene.SchoolAsync("Школа №43");
        var classId = await school.ClassAsync("9Б");
        var teacher = await school.TeacherAsync("Маргарита Павловна", classTeacherOf: classId);

        // No Janus here: every Publish answers media_unavailable. The page counts its cameras opened and its connections.
        var page = await PageAsync(Desktop, await App.MediaBrowserAsync());
        await page.Context.AddInitScriptAsync(RetryPlan(every: 300, @for: 8_000));
        await page.Context.AddInitScriptAsync("""
            window.opened = 0; window.connections = 0;
            if (navigator.mediaDevices) {
              const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
              navigator.mediaDevices.getUserMedia = c => { window.opened++; return open(c); };
            }
            if (window.RTCPeerConnection) {
              const Pc = window.RTCPeerConnection;
              window.RTCPeerConnection = class extends Pc { constructor(...a) { super(...a); window.connections++; } };
            }
            """);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "9Б");
        var call = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());
        var status = call.Locator("#status");
        var unmute = call.GetByRole(AriaRole.Button, new() { Name = "Включить микрофон и камеру" });

        // While it tries again: she sees herself (the camera stays on, opened once), the page says it reconnects.
        await Expect(status).ToHaveTextAsync("Медиасервер звонков временно недоступен, подключаемся снова…");
        await call.WaitForFunctionAsync("() => window.connections >= 2");
        Assert.Equal(1, await call.EvaluateAsync<int>("() => window.opened"));
        await call.EvaluateAsync("() => { window.tracks = window.callState.local.getTracks(); }");
        Assert.True(await call.EvaluateAsync<bool>("() => window.tracks.length === 2 && window.tracks.every(t => t.readyState === 'live')"));
        await Expect(call.Locator("#videos .tile[data-local]")).ToBeVisibleAsync();
        await Expect(unmute).ToBeDisabledAsync();

        // It gives up: camera and microphone off (their light goes out), her tile gone, and she is told what to do.
        await Expect(status).ToHaveTextAsync("Медиасервер звонков недоступен: вы в звонке без видео и звука. Нажмите «Включить микрофон и камеру», чтобы попробовать снова.");
        await Expect(status).ToHaveClassAsync("error");
        Assert.True(await call.EvaluateAsync<bool>("() => window.callState.local === null && window.callState.publisher === null && window.tracks.every(t => t.readyState === 'ended')"));
        await Expect(call.Locator("#videos .tile[data-local]")).ToBeHiddenAsync();
        await Expect(call.Locator("#participants li", new() { HasText = "Маргарита Павловна (вы)" })).ToHaveCountAsync(1);

        // The button tries again; the media server is still away: nothing is left on this time either.
        await Expect(unmute).ToBeEnabledAsync();
        await unmute.ClickAsync();
        await Expect(status).ToHaveTextAsync("Медиасервер звонков временно недоступен. Повторите попытку через несколько секунд.");
        Assert.Equal(2, await call.EvaluateAsync<int>("() => window.opened"));
        Assert.True(await call.EvaluateAsync<bool>("() => window.callState.local === null && window.callState.publisher === null"));
        await Expect(unmute).ToBeEnabledAsync();
    }

    [Fact]
    public async Task UnmutePressedWhileTheCameraOpens_OneCameraOpened_NothingLeftOnAfterGivingUp()
    {
        var school = await Scene.SchoolAsync("Школа №44");
        var classId = await school.ClassAsync("11В");
        var teacher = await school.TeacherAsync("Вера Николаевна", classTeacherOf: classId);

        // The browser takes its time to open the camera (a permission prompt, a slow device); every stream it gives is kept
        // here to check later that none stays on.
        var page = await PageAsync(Desktop, await App.MediaBrowserAsync());
        await page.Context.AddInitScriptAsync(RetryPlan(every: 300, @for: 1_500));
        await page.Context.AddInitScriptAsync("""
            window.opened = 0; window.streams = [];
            if (navigator.mediaDevices) {
              const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
              navigator.mediaDevices.getUserMedia = async c => {
                window.opened++;
                await new Promise(r => setTimeout(r, 1500));
                const s = await open(c);
                window.streams.push(s);
                return s;
              };
            }
            """);
        await SignInAsync(page, teacher.Phone);
        await OpenChatAsync(page, "11В");
        var call = await page.RunAndWaitForPopupAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Начать урок" }).ClickAsync());

        // While the page opens the camera for the join, she presses «Включить микрофон и камеру» too: one camera is opened.
        await call.WaitForFunctionAsync("() => window.opened === 1");
        var unmute = call.GetByRole(AriaRole.Button, new() { Name = "Включить микрофон и камеру" });
        if (await unmute.IsEnabledAsync())
        {
            await unmute.ClickAsync();
        }

        // No media server here: the page tries again, gives up and turns off what it opened — all of it.
        await Expect(call.Locator("#status")).ToContainTextAsync("Медиасервер звонков недоступен", new() { Timeout = 30_000 });
        Assert.Equal(1, await call.EvaluateAsync<int>("() => window.opened"));
        Assert.True(await call.EvaluateAsync<bool>("() => window.streams.length === 1 && window.streams.every(s => s.getTracks().every(t => t.readyState === 'ended'))"));
        Assert.True(await call.EvaluateAsync<bool>("() => window.callState.local === null && window.callState.publisher === null"));
    }

    /// <summary>An init script: how often and how long the call page tries publishing again (call.js, retryPlan).</summary>
    private static string RetryPlan(int every, int @for) =>
        $"try {{ localStorage.setItem('chat.publishRetry', JSON.stringify({{ every: {every}, for: {@for} }})); }} catch (e) {{ /* about:blank */ }}";

    [Fact]
    public async Task SpeakingRing_DoesNotFlickerBetweenBeeps_ManyTiles_SpeakerFirstAndLarger_PausedVideoSaysSo_OnAPhone()
    {
        var page = await PageAsync(Phone);
        await page.GotoAsync(App.BaseUrl + "/call.html");

        // Hysteresis: a loud poll lights at once; quiet polls keep it lit for a second; then it goes; a level between
        // the thresholds keeps a speaker lit but does not light anyone.
        var timeline = await page.EvaluateAsync<bool[]>("""
            () => {
              const s = new SpeakingState();
              return [[0.01, 0], [0.3, 250], [0, 500], [0, 750], [0.3, 1000], [0, 1250], [0, 1750], [0, 2000], [0, 2250], [0.03, 2500], [0.2, 2750], [0.03, 3000], [0.03, 4500]]
                .map(([level, at]) => s.update(level, at));
            }
            """);
        Assert.Equal([false, true, true, true, true, true, true, false, false, false, true, true, true], timeline);

        // Eight tiles (mine and seven cameras) on a phone: two columns of readable tiles; the one who speaks comes first,
        // across the width, and stays there when they pause.
        await page.EvaluateAsync("""
            () => {
              document.getElementById('join').hidden = true; // the page without a call: only the tiles matter here
              state.me = 'me';
              document.querySelector('.tile[data-local]').dataset.account = 'me';
              document.querySelector('.tile[data-local]').hidden = false;
              for (let i = 1; i <= 7; i++) addTile(i, 'Ученик ' + i, 'a' + i);
              showSpeaking(new Set(['me', 'a5']));
            }
            """);
        await Expect(page.Locator("#videos")).ToHaveClassAsync(new Regex("\\bmany\\b"));
        var speaker = page.Locator(".tile[data-account='a5']");
        await Expect(speaker).ToHaveClassAsync(new Regex("\\bmain\\b"));
        var first = (await speaker.BoundingBoxAsync())!;
        var videos = (await page.Locator("#videos").BoundingBoxAsync())!;
        foreach (var other in await page.Locator(".tile:not([data-account='a5'])").AllAsync())
        {
            var box = (await other.BoundingBoxAsync())!;
            Assert.True(box.Y > first.Y, "the speaker's tile is first");
            Assert.InRange(box.Width, 150, videos.Width / 2);
        }

        Assert.True(first.Width > videos.Width - 2, $"the speaker's tile spans the width ({first.Width} of {videos.Width})");
        await Expect(page.Locator(".tile[data-account='me']")).ToHaveClassAsync(Speaking());
        await Expect(page.Locator(".tile[data-account='me']")).Not.ToHaveClassAsync(new Regex("\\bmain\\b"));
        // A phone receives video of four cameras at most (call.js, videoBudget): the others' tiles keep their name and
        // say why there is no picture, over a dark background instead of a frozen frame.
        Assert.Equal(4, await page.EvaluateAsync<int>("() => videoBudget()"));
        await page.EvaluateAsync("() => ['a1', 'a2', 'a3', 'a4'].forEach(a => document.querySelector(`.tile[data-account='${a}']`).classList.add('video-paused'))");
        var paused = page.Locator(".tile[data-account='a1']");
        Assert.Equal("\"видео скрыто: экономим связь\"", await paused.EvaluateAsync<string>("t => getComputedStyle(t, '::before').content"));
        Assert.Equal("hidden", await paused.Locator("video").EvaluateAsync<string>("v => getComputedStyle(v).visibility"));
        await Expect(paused.Locator("figcaption")).ToHaveTextAsync("Ученик 1");
        Assert.Equal("none", await speaker.EvaluateAsync<string>("t => getComputedStyle(t, '::before').content"));
        await Screenshot(page, "call-many-tiles-phone");
        await page.EvaluateAsync("() => showSpeaking(new Set())");
        await Expect(speaker).Not.ToHaveClassAsync(Speaking());
        await Expect(speaker).ToHaveClassAsync(new Regex("\\bmain\\b"));
    }

    [GeneratedRegex("\\bspeaking\\b")]
    private static partial Regex Speaking();
}
