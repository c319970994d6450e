using System.Text.Json;
using Chat.Hub.Tests.Infrastructure;
using Chat.Signaling.Sfu;
using Chat.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Runs only inside a private network namespace prepared by scripts/e2e-calls.sh (127.0.0.1 also on an ifb link, so
/// Janus accepts it for ICE); elsewhere it is skipped.
/// </summary>
public sealed class NamespaceFactAttribute : FactAttribute
{
    public NamespaceFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CHAT_E2E_NAMESPACE") != "1")
        {
            Skip = "browser end-to-end test: run scripts/e2e-calls.sh (private network namespace, Janus, Chromium)";
        }
    }
}

/// <summary>A <see cref="NamespaceFactAttribute"/> with data: skipped outside the private network namespace.</summary>
public sealed class NamespaceTheoryAttribute : TheoryAttribute
{
    public NamespaceTheoryAttribute()
    {
        if (Environment.GetEnvironmentVariable("CHAT_E2E_NAMESPACE") != "1")
        {
            Skip = "browser end-to-end test: run scripts/e2e-calls.sh (private network namespace, Janus, Chromium)";
        }
    }
}

/// <summary>The app on Kestrel (a real port the browser can reach) with a private Janus.</summary>
public sealed class BrowserCallsApp : ChatApp
{
    public TurnServer? Turn { get; private set; }

    public string BaseUrl { get; private set; } = "";

    protected override bool WithJanus => Environment.GetEnvironmentVariable("CHAT_E2E_NAMESPACE") == "1";

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Calls:Turn:Secret"] = Turn?.Secret,
        ["Calls:Turn:Urls:0"] = Turn?.Url,
        // Every account of these tests signs in from 127.0.0.1 over Kestrel; the capacity measurement signs in 100+.
        ["Auth:CodeSendsPerClientPerHour"] = "100000",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (Environment.GetEnvironmentVariable("CHAT_E2E_NAMESPACE") != "1")
        {
            return;
        }

        Turn = await TurnServer.StartAsync();
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseUrl = addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
    }

    /// <summary>
    /// The server as a separate process on the same database, Janus and coturn (with the same signing key, so the
    /// tests' tokens work there): a chat server a test can stop and start again on its port. Not started yet.
    /// </summary>
    public HubServerProcess NewNode() => new(new Dictionary<string, string?>
    {
        ["ConnectionStrings__Chat"] = ConnectionString,
        ["Auth__SigningKey"] = SigningKey,
        ["Auth__CodeSendsPerClientPerHour"] = "100000",
        ["Site__PublicUrl"] = "https://school.test",
        ["Calls__Janus__Urls__0"] = Janus?.Url,
        ["Calls__Turn__Secret"] = Turn?.Secret,
        ["Calls__Turn__Urls__0"] = Turn?.Url,
        ["Logging__Console__FormatterName"] = "simple",
        // The call page's files: the process runs from the tests' folder, which has no wwwroot of its own.
        ["ASPNETCORE_WEBROOT"] = Services.GetRequiredService<IWebHostEnvironment>().WebRootPath,
    });

    /// <summary>The class chat of a class (created by the roster sync).</summary>
    public async Task<Guid> ClassChatAsync(Guid classId)
    {
        await using var db = new NpgsqlConnection(ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT id FROM chats WHERE class_id = @c AND kind = 'class'", db);
        cmd.Parameters.AddWithValue("c", classId);
        return (Guid)(await cmd.ExecuteScalarAsync())!;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Turn is not null)
        {
            await Turn.DisposeAsync();
        }
    }
}

/// <summary>A real lesson in headless Chromium with fake cameras, through the server's call page and a real Janus.</summary>
public sealed class CallBrowserTests(BrowserCallsApp app) : IClassFixture<BrowserCallsApp>
{
    /// <summary>Frames decoded and width of the first inbound video of any subscription of the page.</summary>
    private const string AnyVideo = """
        async () => {
          for (const pc of window.callState.subscribers.values()) {
            for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') return { frames: s.framesDecoded || 0, width: s.frameWidth || 0 };
          }
          return { frames: 0, width: 0 };
        }
        """;

    [NamespaceFact]
    public async Task TeacherStartsLesson_EveryPupilDecodesTheTeachersVideo_UnmuteNeedsPermission()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("5А");
        var b = await school.CreateClassAsync("5Б");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", a.Id);
        var stranger = await school.AddStudentAsync("Коля из 5Б", b.Id);
        // Six pupils: enough pages that every one must get its own subscription right; how many a lesson holds is
        // measured apart (CallCapacityMeasurement, docs/calls.md), not here, where each page decodes video on 2 cores.
        var pupils = new List<TestUser>();
        for (var i = 0; i < 6; i++)
        {
            pupils.Add(await school.AddStudentAsync($"Ученик {i}", a.Id));
        }

        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: true);
        var pupilPages = new List<IPage>();
        foreach (var pupil in pupils)
        {
            pupilPages.Add(await browser.JoinAsync(pupil, callId));
        }

        // Every pupil decodes the teacher's camera: frames grow and have a size.
        foreach (var page in pupilPages)
        {
            var stats = await WaitForVideoAsync(page, AnyVideo);
            Assert.True(stats.GetProperty("frames").GetInt32() > 10, $"a pupil decoded only {stats}");
            Assert.True(stats.GetProperty("width").GetInt32() > 0);
        }

        // Lesson mode: a pupil's unmute is refused until the teacher allows it.
        const string Unmute = "async () => { try { await window.callState.hub.invoke('SetMuted', window.callState.callId, false, false); return 'ok'; } catch (e) { return String(e.message); } }";
        Assert.Contains("speak_not_allowed", await pupilPages[0].EvaluateAsync<string>(Unmute), StringComparison.Ordinal);
        await teacherPage.EvaluateAsync("([call, pupil]) => window.callState.hub.invoke('AllowToSpeak', call, pupil, true)", new object[] { callId, pupils[0].AccountId.ToString() });
        Assert.Equal("ok", await pupilPages[0].EvaluateAsync<string>(Unmute));

        // Allowed, she turns her camera and microphone on; when the teacher takes the word back, her page stops sending
        // (camera released), not just the button.
        var wait = new PageWaitForFunctionOptions { Timeout = 30_000 };
        await pupilPages[0].ClickAsync("#unmute");
        await pupilPages[0].WaitForFunctionAsync("() => window.callState.publishing && window.callState.local !== null", null, wait);
        await teacherPage.EvaluateAsync("([call, pupil]) => window.callState.hub.invoke('AllowToSpeak', call, pupil, false)", new object[] { callId, pupils[0].AccountId.ToString() });
        await pupilPages[0].WaitForFunctionAsync("() => !window.callState.publishing && window.callState.local === null && window.callState.publisher === null", null, wait);
        Assert.Equal("Ведущий выключил вам микрофон и камеру.", await pupilPages[0].Locator("#status").TextContentAsync());

        // A pupil of 5Б cannot join 5А's lesson.
        var strangerPage = await browser.NewCallPageAsync();
        var refused = await strangerPage.EvaluateAsync<string>(
            "async ([token, call]) => { try { await window.startCall({ token, call }); return 'joined'; } catch (e) { return String(e.message); } }",
            new object[] { stranger.Tokens.AccessToken, callId });
        Assert.Contains("chat_not_found", refused, StringComparison.Ordinal);

        // The lesson ends: every page lets go of the call and of its media.
        await EndCallAsync(teacherPage, callId);
        foreach (var page in pupilPages.Take(3).Append(teacherPage))
        {
            await page.WaitForFunctionAsync("() => window.callState.callId === null && window.callState.local === null && window.callState.subscribers.size === 0", null, wait);
            Assert.Equal("Звонок завершён.", await page.Locator("#status").TextContentAsync());
        }
    }

    [NamespaceFact]
    public async Task TwoPeopleCall_RelayOnlyThroughCoturn_BothDecode()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("6А");
        var teacher = await school.AddVerifiedTeacherAsync("Анна Петровна", a.Id);
        var pupil = await school.AddStudentAsync("Оля", a.Id);

        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        // The pages renew their TURN credentials every 1.5 s instead of 5 minutes before they expire.
        await (await browser.NewCallPageAsync()).EvaluateAsync("() => localStorage.setItem('chat.iceRenewMs', '1500')");
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: false, relay: true);
        var pupilPage = await browser.JoinAsync(pupil, callId, relay: true);

        // Relay-only: the only local candidates are relay ones, so media flows through coturn.
        const string Stats = """
            async () => {
              const out = { frames: 0, width: 0, localTypes: [] };
              const pcs = [...window.callState.subscribers.values()];
              if (window.callState.publisher) pcs.push(window.callState.publisher);
              for (const pc of pcs) {
                const stats = await pc.getStats();
                for (const s of stats.values()) {
                  if (s.type === 'inbound-rtp' && s.kind === 'video') { out.frames = Math.max(out.frames, s.framesDecoded || 0); out.width = Math.max(out.width, s.frameWidth || 0); }
                  if (s.type === 'local-candidate') out.localTypes.push(s.candidateType);
                }
              }
              return out;
            }
            """;
        foreach (var page in new[] { teacherPage, pupilPage })
        {
            var stats = await WaitForVideoAsync(page, Stats);
            Assert.True(stats.GetProperty("frames").GetInt32() > 10, $"decoded only {stats}");
            var types = stats.GetProperty("localTypes").EnumerateArray().Select(t => t.GetString()).ToList();
            Assert.NotEmpty(types);
            Assert.All(types, t => Assert.Equal("relay", t));
        }

        // Renewed credentials (GetIceServers) reach the live connections, and a connection built with them works
        // through coturn: the teacher's publisher fails, is built again relay-only, and the pupil decodes the new feed.
        var first = await DecodingFeedAsync(pupilPage, 0);
        await teacherPage.WaitForFunctionAsync("""
            () => window.callState.iceRenewals >= 2
              && window.callState.publisher.getConfiguration().iceServers[0].username === window.callState.iceServers[0].username
            """);
        await teacherPage.EvaluateAsync($"() => ({FailScript})(window.callState.publisher)");
        var second = await DecodingFeedAsync(pupilPage, first);
        Assert.True(second != 0 && second != first, "the pupil does not decode the teacher's new feed through coturn");

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task Lesson_PupilAllowedToShareScreen_TeacherDecodesIt_HostStopsIt()
    {
        await using var lesson = await LessonAsync("7А", "Ирина Сергеевна", "Дима");
        var (teacher, pupil, teacherPage, pupilPage, callId) = (lesson.Teacher, lesson.Pupil, lesson.TeacherPage, lesson.PupilPage, lesson.CallId);

        // In a lesson the pupil's share button is off until the teacher allows it; then a click shares the screen.
        Assert.True(await pupilPage.IsDisabledAsync("#share"));
        await teacherPage.EvaluateAsync("([call, pupil]) => window.callState.hub.invoke('AllowToShare', call, pupil, true)", new object[] { callId, pupil.AccountId.ToString() });
        await pupilPage.ClickAsync("#share");
        await pupilPage.WaitForFunctionAsync("() => window.callState.screenFeed !== null", null, new() { Timeout = 20_000 });
        var screenFeed = await pupilPage.EvaluateAsync<long>("() => window.callState.screenFeed");

        // The teacher's page subscribes to the screen feed and decodes it.
        var stats = await WaitForVideoAsync(teacherPage, FeedVideo, screenFeed);
        Assert.True(stats.GetProperty("frames").GetInt32() > 10, $"the teacher decoded only {stats} of the pupil's screen");
        Assert.True(stats.GetProperty("width").GetInt32() > 0);

        // The teacher stops the pupil's share: the pupil's page closes its screen connection, the teacher's drops the feed.
        await teacherPage.EvaluateAsync("([call, pupil]) => window.callState.hub.invoke('StopScreenShare', call, pupil)", new object[] { callId, pupil.AccountId.ToString() });
        await pupilPage.WaitForFunctionAsync("() => window.callState.screen === null", null, new() { Timeout = 10_000 });
        await teacherPage.WaitForFunctionAsync("feed => !window.callState.subscribers.has(feed)", screenFeed, new() { Timeout = 10_000 });

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task JanusRestartsMidCall_TeacherPagePublishesCameraAndScreenAgain_PupilDecodesTheNewFeeds()
    {
        await using var lesson = await LessonAsync("8А", "Ольга Викторовна", "Миша");
        var (teacher, pupil, teacherPage, pupilPage, callId) = (lesson.Teacher, lesson.Pupil, lesson.TeacherPage, lesson.PupilPage, lesson.CallId);

        var before = await DecodingFeedAsync(pupilPage, 0);
        Assert.NotEqual(0, before);
        await teacherPage.ClickAsync("#share");
        await teacherPage.WaitForFunctionAsync("() => window.callState.screenFeed !== null", null, new() { Timeout = 20_000 });
        var screenBefore = await teacherPage.EvaluateAsync<long>("() => window.callState.screenFeed");
        await teacherPage.EvaluateAsync("() => { window.keptCapture = window.callState.screenStream; }");

        // Janus crashes and its service restarts it; the pages hear SfuRestarted, the teacher's page publishes again
        // (retrying while Janus is not up) and the pupil's page subscribes to the new feed. Her screen share comes back
        // too, with the same capture.
        await app.Janus!.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await app.Janus.StartAgainAsync();
        var after = await DecodingFeedAsync(pupilPage, before);
        Assert.True(after != 0, "the pupil does not decode the teacher's video after the Janus restart");
        Assert.NotEqual(before, after);
        await teacherPage.WaitForFunctionAsync("old => window.callState.screenFeed !== null && window.callState.screenFeed !== old", screenBefore, new() { Timeout = 60_000 });
        var screenAfter = await teacherPage.EvaluateAsync<long>("() => window.callState.screenFeed");
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.screenStream === window.keptCapture"));
        Assert.True((await WaitForVideoAsync(pupilPage, FeedVideo, screenAfter)).GetProperty("frames").GetInt32() > 10, "the pupil does not decode the teacher's screen after the Janus restart");

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task PeerConnectionsFail_PagesBuildThemAgain_PupilDecodesTheTeacherAgain_EvenAfterAStaleState()
    {
        await using var lesson = await LessonAsync("8Б", "Анна Сергеевна", "Петя");
        var (teacher, pupil, teacherPage, pupilPage, callId) = (lesson.Teacher, lesson.Pupil, lesson.TeacherPage, lesson.PupilPage, lesson.CallId);

        var first = await DecodingFeedAsync(pupilPage, 0);
        Assert.NotEqual(0, first);

        // The teacher's connection to the media server fails: her page publishes again on a new one (with the camera
        // and microphone it has open: their light does not blink), and the pupil's page follows to the new feed.
        await teacherPage.EvaluateAsync("() => { window.keptLocal = window.callState.local; }");
        await teacherPage.EvaluateAsync($"() => ({FailScript})(window.callState.publisher)");
        var second = await DecodingFeedAsync(pupilPage, first);
        Assert.True(second != 0, "the pupil does not decode the teacher's video after the teacher's connection failed");
        Assert.NotEqual(first, second);
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.publishing && window.callState.publisher !== window.failedPc"));
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.local === window.keptLocal && window.keptLocal.getTracks().every(t => t.readyState === 'live')"));
        await Expect(teacherPage.Locator("#status")).ToHaveTextAsync("Вы на уроке.");

        // The pupil's own connection for that feed fails: her page subscribes to the same feed again, on a new one.
        await pupilPage.EvaluateAsync($"feed => ({FailScript})(window.callState.subscribers.get(feed))", second);
        Assert.Equal(second, await DecodingFeedAsync(pupilPage, 0));
        Assert.Equal(1, await pupilPage.EvaluateAsync<int>("() => window.callState.subscribers.size"));

        // A state that is no longer true reaches the pupil's page (a push overtaken while the hub reconnected): it lists
        // the teacher's first feed, long gone. The page follows it — the live subscription closes, the dead feed is
        // asked for — finds that feed missing, reads the call again and is back on the teacher's live feed, no error
        // shown. (The push goes straight to the page's own CallStateChanged handler.)
        const string StalePush = """
            ([live, gone]) => {
              const call = window.callState.lastCall;
              const stale = { ...call, participants: call.participants.map(p => p.feedId === live ? { ...p, feedId: gone } : p) };
              const handlers = Object.values(window.callState.hub).find(v => v && typeof v === 'object' && Array.isArray(v.callstatechanged));
              handlers.callstatechanged.forEach(h => h(stale));
              return [...window.callState.subscribers.keys()];
            }
            """;
        Assert.Equal([first], await pupilPage.EvaluateAsync<long[]>(StalePush, new object[] { second, first }));
        Assert.Equal(second, await DecodingFeedAsync(pupilPage, 0));
        await WaitOnPageAsync(pupilPage, "gone => !window.callState.subscribers.has(gone) && window.callState.subscribers.size === 1", "keeps the gone feed's subscription", first);
        await Expect(pupilPage.Locator("#status")).Not.ToContainTextAsync("Не удалось");

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task ConnectionsStayDisconnected_IceRestartedOnTheSameHandles_TeachersFeedAndPupilsSubscriptionStay()
    {
        await using var lesson = await LessonAsync("8В", "Нина Петровна", "Оля");
        var (teacher, pupil, teacherPage, pupilPage, callId) = (lesson.Teacher, lesson.Pupil, lesson.TeacherPage, lesson.PupilPage, lesson.CallId);
        var feed = await DecodingFeedAsync(pupilPage, 0);
        Assert.NotEqual(0, feed);
        await pupilPage.EvaluateAsync("() => { window.firstSubscription = window.callState.subscribers.values().next().value; }");

        // The teacher's network changes: her camera's connection reports "disconnected" and stays so (2 s). The page
        // restarts ICE on the same connection (new ICE credentials, the same Janus handle) instead of publishing anew.
        const string Ufrag = "() => window.callState.publisher.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]";
        const string JanusUfrag = "() => window.callState.publisher.remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]";
        var ufrag = await teacherPage.EvaluateAsync<string>(Ufrag);
        var janusUfrag = await teacherPage.EvaluateAsync<string>(JanusUfrag);
        var pairBefore = await teacherPage.EvaluateAsync<string>($"() => ({SelectedPair})(window.callState.publisher)");
        Assert.False(string.IsNullOrEmpty(pairBefore));
        await teacherPage.EvaluateAsync($"() => ({DisconnectScript})(window.restartedPc = window.callState.publisher)");
        await teacherPage.WaitForFunctionAsync("() => window.callState.iceRestarts === 1 && window.callState.subscriptionIceRestarts === 0", null, new() { Timeout = 30_000 });
        await teacherPage.EvaluateAsync("() => { delete window.restartedPc.connectionState; }");
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.publisher === window.restartedPc && window.callState.publishing"));
        var newUfrag = await teacherPage.EvaluateAsync<string>(Ufrag);
        Assert.NotEqual(ufrag, newUfrag);
        Assert.NotEqual(janusUfrag, await teacherPage.EvaluateAsync<string>(JanusUfrag));

        // ICE really runs on the new credentials: a candidate pair other than the one before the restart is selected,
        // its checks succeeded (the old pair stays selected until a new one works), and the connection is connected.
        await WaitOnPageAsync(teacherPage, $"async old => ({NewPairSelected})(window.callState.publisher, old)", "selects no new candidate pair for its camera", pairBefore);
        Assert.Equal(feed, await FeedOfAsync(teacherPage, callId, teacher));

        // The pupil's page keeps its subscription to the same feed and decodes on.
        const string Frames = "async () => { for (const s of (await window.firstSubscription.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') return s.framesDecoded || 0; return 0; }";
        var before = await pupilPage.EvaluateAsync<int>(Frames);
        await WaitOnPageAsync(pupilPage, $"async before => ({Frames})().then(f => f > before + 10)", "decodes no new frames of the first subscription", before);
        Assert.True(await pupilPage.EvaluateAsync<bool>("feed => window.callState.subscribers.get(feed) === window.firstSubscription", feed));
        await Expect(teacherPage.Locator("#status")).ToHaveTextAsync("Вы на уроке.");

        // Now the pupil's network changes: her subscription stays disconnected, Janus makes a new offer on the same
        // handle (RestartSubscriptionIce), her page answers, and she decodes on, on the same connection.
        const string SubUfrag = "() => window.firstSubscription.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]";
        var subUfrag = await pupilPage.EvaluateAsync<string>(SubUfrag);
        var subPairBefore = await pupilPage.EvaluateAsync<string>($"() => ({SelectedPair})(window.firstSubscription)");
        await pupilPage.EvaluateAsync($"() => ({DisconnectScript})(window.firstSubscription)");
        await pupilPage.WaitForFunctionAsync("() => window.callState.subscriptionIceRestarts === 1 && window.callState.iceRestarts === 0", null, new() { Timeout = 30_000 });
        await pupilPage.EvaluateAsync("() => { delete window.firstSubscription.connectionState; }");
        Assert.NotEqual(subUfrag, await pupilPage.EvaluateAsync<string>(SubUfrag));
        await WaitOnPageAsync(pupilPage, $"async old => ({NewPairSelected})(window.firstSubscription, old)", "selects no new candidate pair for its subscription", subPairBefore);
        before = await pupilPage.EvaluateAsync<int>(Frames);
        await WaitOnPageAsync(pupilPage, $"async before => ({Frames})().then(f => f > before + 10)", "decodes no new frames of the first subscription", before);
        Assert.True(await pupilPage.EvaluateAsync<bool>("feed => window.callState.subscribers.get(feed) === window.firstSubscription", feed));

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task ScreenShareConnectionBreaks_IceRestartKeepsTheFeed_AFailedOneIsSharedAgainWithTheSameCapture()
    {
        await using var lesson = await LessonAsync("9А", "Елена Игоревна", "Саша");
        var (teacher, pupil, teacherPage, pupilPage, callId) = (lesson.Teacher, lesson.Pupil, lesson.TeacherPage, lesson.PupilPage, lesson.CallId);

        // The teacher shows her screen; the pupil decodes it. The page counts how often it asks the browser for a screen.
        await teacherPage.EvaluateAsync("""
            () => {
              window.pickerOpened = 0;
              const pick = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
              navigator.mediaDevices.getDisplayMedia = c => { window.pickerOpened++; return pick(c); };
            }
            """);
        await teacherPage.ClickAsync("#share");
        await teacherPage.WaitForFunctionAsync("() => window.callState.screenFeed !== null", null, new() { Timeout = 20_000 });
        var screenFeed = await teacherPage.EvaluateAsync<long>("() => window.callState.screenFeed");
        Assert.True((await WaitForVideoAsync(pupilPage, FeedVideo, screenFeed)).GetProperty("frames").GetInt32() > 10, "the pupil does not decode the teacher's screen");
        await pupilPage.EvaluateAsync("feed => { window.screenSubscription = window.callState.subscribers.get(feed); }", screenFeed);

        // Her network changes: the screen's connection stays "disconnected" for 2 s. The page restarts ICE on the same
        // connection and Janus handle (RestartScreenIce): same feed, the pupil's subscription stays and decodes on.
        const string Ufrag = "() => window.callState.screen.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]";
        var ufrag = await teacherPage.EvaluateAsync<string>(Ufrag);
        var pairBefore = await teacherPage.EvaluateAsync<string>($"() => ({SelectedPair})(window.callState.screen)");
        await teacherPage.EvaluateAsync($"() => ({DisconnectScript})(window.restartedPc = window.callState.screen)");
        await teacherPage.WaitForFunctionAsync("() => window.callState.screenIceRestarts === 1", null, new() { Timeout = 30_000 });
        await teacherPage.EvaluateAsync("() => { delete window.restartedPc.connectionState; }");
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.screen === window.restartedPc"));
        Assert.NotEqual(ufrag, await teacherPage.EvaluateAsync<string>(Ufrag));
        await WaitOnPageAsync(teacherPage, $"async old => ({NewPairSelected})(window.callState.screen, old)", "selects no new candidate pair for its screen share", pairBefore);
        Assert.Equal(screenFeed, await teacherPage.EvaluateAsync<long>("() => window.callState.screenFeed"));
        var before = (await pupilPage.EvaluateAsync<JsonElement>(FeedVideo, screenFeed)).GetProperty("frames").GetInt32();
        await WaitOnPageAsync(pupilPage, $"async ([feed, before]) => ({FeedVideo})(feed).then(v => v.frames > before + 10)", "decodes no new frames of the screen share", new object[] { screenFeed, before });
        Assert.True(await pupilPage.EvaluateAsync<bool>("feed => window.callState.subscribers.get(feed) === window.screenSubscription", screenFeed));

        // Then the connection fails for good: the page shares the screen again on a new connection with the capture it
        // has (the teacher is not asked to pick the screen again); the pupil's page follows to the new screen feed.
        await teacherPage.EvaluateAsync("() => { window.keptCapture = window.callState.screenStream; }");
        await teacherPage.EvaluateAsync($"() => ({FailScript})(window.callState.screen)");
        await teacherPage.WaitForFunctionAsync("old => window.callState.screenRepublishes === 1 && window.callState.screenFeed !== null && window.callState.screenFeed !== old", screenFeed, new() { Timeout = 30_000 });
        var newFeed = await teacherPage.EvaluateAsync<long>("() => window.callState.screenFeed");
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.screen !== window.failedPc && window.callState.screenStream === window.keptCapture && window.keptCapture.getVideoTracks()[0].readyState === 'live'"));
        Assert.Equal(1, await teacherPage.EvaluateAsync<int>("() => window.pickerOpened"));
        Assert.True((await WaitForVideoAsync(pupilPage, FeedVideo, newFeed)).GetProperty("frames").GetInt32() > 10, "the pupil does not decode the teacher's screen shared again");
        await pupilPage.WaitForFunctionAsync("feed => !window.callState.subscribers.has(feed)", screenFeed, new() { Timeout = 10_000 });
        Assert.False(await teacherPage.IsDisabledAsync("#stopshare"));

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task NetworkChange_BreaksTheHubToo_IceRestartWaitsForTheHub_SameConnectionAndFeed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("7Г");
        var teacher = await school.AddVerifiedTeacherAsync("Галина Сергеевна", a.Id);
        var pupil = await school.AddStudentAsync("Ваня", a.Id);

        // The teacher's hub connection goes through a route the test can break and keep broken for a while.
        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var teacherPage = await browser.NewCallPageAsync();
        IWebSocketRoute? hubSocket = null;
        var hubBlocked = false;
        await teacherPage.RouteWebSocketAsync(new System.Text.RegularExpressions.Regex("/hubs/chat"), ws =>
        {
            if (hubBlocked)
            {
                _ = ws.CloseAsync();
                return;
            }

            hubSocket = ws;
            ws.ConnectToServer();
        });
        // While blocked, the other ways to the hub (negotiation, SSE and long-polling fallbacks) fail as well.
        await teacherPage.RouteAsync(new System.Text.RegularExpressions.Regex("/hubs/chat"), route => hubBlocked ? route.AbortAsync() : route.ContinueAsync());
        var callId = await teacherPage.EvaluateAsync<string>(
            "([token, chat]) => window.startCall({ token, chat, lesson: true })", new object[] { teacher.Tokens.AccessToken, (await app.ClassChatAsync(a.Id)).ToString() });
        var pupilPage = await browser.JoinAsync(pupil, callId);
        var feed = await DecodingFeedAsync(pupilPage, 0);
        Assert.NotEqual(0, feed);
        var pairBefore = await teacherPage.EvaluateAsync<string>($"() => ({SelectedPair})(window.callState.publisher)");

        // Wi-Fi to mobile data: the hub's connection breaks and stays broken for 5 s, and the camera's connection reports
        // "disconnected". The ICE restart (due after 2 s) waits for the hub instead of publishing anew.
        hubBlocked = true;
        await hubSocket!.CloseAsync();
        await teacherPage.EvaluateAsync($"() => ({DisconnectScript})(window.restartedPc = window.callState.publisher)");
        await Expect(teacherPage.Locator("#status")).ToHaveTextAsync("Нет связи с сервером, подключаемся снова…");
        await Task.Delay(5000);
        Assert.Equal(0, await teacherPage.EvaluateAsync<int>("() => window.callState.iceRestarts"));
        hubBlocked = false;

        await teacherPage.WaitForFunctionAsync("() => window.callState.iceRestarts === 1", null, new() { Timeout = 60_000 });
        await teacherPage.EvaluateAsync("() => { delete window.restartedPc.connectionState; }");
        Assert.True(await teacherPage.EvaluateAsync<bool>("() => window.callState.publisher === window.restartedPc && window.callState.publishing"));
        await WaitOnPageAsync(teacherPage, $"async old => ({NewPairSelected})(window.callState.publisher, old)", "selects no new candidate pair for its camera", pairBefore);
        await Expect(teacherPage.Locator("#status")).ToHaveTextAsync("Вы на уроке.");
        Assert.Equal(feed, await FeedOfAsync(teacherPage, callId, teacher));
        Assert.Equal(feed, await DecodingFeedAsync(pupilPage, 0));

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task WaitingRoom_GuestOfTheSchoolWaits_TeacherAdmitsOnThePage_GuestDecodesTheLesson()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("4Б");
        var teacher = await school.AddVerifiedTeacherAsync("Татьяна Николаевна", a.Id);
        var guest = await school.AddVerifiedTeacherAsync("Психолог Олег Игоревич");

        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: true);
        await teacherPage.EvaluateAsync("call => window.callState.hub.invoke('SetWaitingRoom', call, true)", callId);

        // The guest's page knocks and waits; the teacher's page lists them with a button to let them in.
        var guestPage = await browser.NewCallPageAsync();
        var joining = guestPage.EvaluateAsync<string>("([token, call]) => window.startCall({ token, call })", new object[] { guest.Tokens.AccessToken, callId });
        await teacherPage.ClickAsync($"#waiting li[data-account='{guest.AccountId}'] button[data-admit='true']", new() { Timeout = 20_000 });
        Assert.Equal(callId, await joining.WaitAsync(TimeSpan.FromSeconds(30)));

        var stats = await WaitForVideoAsync(guestPage, AnyVideo);
        Assert.True(stats.GetProperty("frames").GetInt32() > 10, $"the admitted guest decoded only {stats}");
        await EndCallAsync(teacherPage, callId);
    }

    /// <summary>
    /// A parents' meeting (no lesson mode): the host mutes everyone; a parent is told, and may speak again with «Включить
    /// микрофон» — the media server forwards her sound again (it had stopped it). She can also turn her microphone off
    /// herself, and the host's list says so.
    /// </summary>
    [NamespaceFact]
    public async Task Meeting_HostMutesAll_AParentTurnsHerMicrophoneOnAgain_IsHeard_AndOffHerself()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("4Б");
        var teacher = await school.AddVerifiedTeacherAsync("Ольга Сергеевна", a.Id);
        var pupil = await school.AddStudentAsync("Тимур", a.Id);

        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: false);
        var pupilPage = await browser.JoinAsync(pupil, callId);
        const string Remote = "[...document.querySelectorAll('#videos .tile:not([data-local]) audio')]";
        var wait = new PageWaitForFunctionOptions { Timeout = 30_000 };
        await teacherPage.WaitForFunctionAsync($"() => !document.getElementById('sound').hidden || ({Remote}.length > 0 && {Remote}.every(v => !v.muted && v.srcObject && v.srcObject.getAudioTracks().length))", null, wait);
        if (await teacherPage.IsVisibleAsync("#sound"))
        {
            await teacherPage.ClickAsync("#sound");
        }

        var micOff = pupilPage.Locator("#mic-off");
        await Expect(micOff).ToHaveTextAsync("Выключить микрофон");
        var row = teacherPage.Locator($"#participants li[data-account-id='{pupil.AccountId}']");
        await Expect(row).ToContainTextAsync("микрофон включён");

        // «Выключить микрофоны всем»: his page says so, sends silence, and offers the microphone back.
        await teacherPage.ClickAsync("#mute-all");
        await Expect(row).ToContainTextAsync("микрофон выключен");
        await Expect(micOff).ToHaveTextAsync("Включить микрофон");
        await Expect(micOff).ToBeEnabledAsync();
        await Expect(pupilPage.Locator("#status")).ToContainTextAsync("Ведущий выключил вам микрофон");
        Assert.False(await pupilPage.EvaluateAsync<bool>("() => window.callState.local.getAudioTracks().some(t => t.enabled)"));

        // He turns it on: the call says so and the teacher hears his fake microphone again (the SFU forwards it again).
        const string Energy = "async () => { for (const pc of window.callState.subscribers.values()) for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'audio') return s.totalAudioEnergy || 0; return 0; }";
        await micOff.ClickAsync();
        await Expect(row).ToContainTextAsync("микрофон включён");
        await Expect(micOff).ToHaveTextAsync("Выключить микрофон");
        var before = await teacherPage.EvaluateAsync<double>(Energy);
        await WaitOnPageAsync(teacherPage, $"async before => ({Energy})().then(e => e > before + 0.05)", "hears him no more after he turned his microphone on again", before);

        // And off himself: the host's list says so, and no «the host muted you» this time.
        await pupilPage.EvaluateAsync("() => { document.getElementById('status').textContent = ''; }");
        await micOff.ClickAsync();
        await Expect(row).ToContainTextAsync("микрофон выключен");
        await Expect(micOff).ToHaveTextAsync("Включить микрофон");
        await Expect(pupilPage.Locator("#status")).Not.ToContainTextAsync("Ведущий выключил");
        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task Call_EachSeesTheOtherSpeaking_MicrophoneSwitchedMidCall_CallGoesOn_AudioOnlyJoinPublishes_CameraOffShown()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("9А");
        var teacher = await school.AddVerifiedTeacherAsync("Елена Викторовна", a.Id);
        var pupil = await school.AddStudentAsync("Вика", a.Id);

        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: false);
        // The pupil chose «Без камеры» in this browser before: she publishes sound only (an empty video sender).
        await teacherPage.EvaluateAsync("() => localStorage.setItem('chat.callDevices', JSON.stringify({ video: 'none' }))");
        var pupilPage = await browser.JoinAsync(pupil, callId);
        Assert.True(await pupilPage.EvaluateAsync<bool>("() => window.callState.publishing && window.callState.local.getVideoTracks().length === 0"));

        // Headless Chromium may play no sound before a click on the page: the sound then stays muted and «Включить звук» is
        // offered; a click plays the others with their sound (and the audio energy the ring reads is measured at playout).
        const string Remote = "[...document.querySelectorAll('#videos .tile:not([data-local]) audio')]";
        var wait = new PageWaitForFunctionOptions { Timeout = 30_000 };
        foreach (var page in new[] { pupilPage, teacherPage })
        {
            await page.WaitForFunctionAsync($"() => !document.getElementById('sound').hidden || ({Remote}.length > 0 && {Remote}.every(v => !v.muted && v.srcObject && v.srcObject.getAudioTracks().length))", null, wait);
            if (await page.IsVisibleAsync("#sound"))
            {
                await page.ClickAsync("#sound");
            }

            Assert.True(await page.EvaluateAsync<bool>($"() => {Remote}.every(v => !v.muted)"));
        }

        // Both fake microphones beep: each page rings the other's tile and says «говорит» in the list.
        const string Speaking = "account => document.querySelector(`.tile[data-account='${account}']`)?.classList.contains('speaking') && !!document.querySelector(`#participants li[data-account-id='${account}'] .speaking-mark`)";
        await pupilPage.WaitForFunctionAsync(Speaking, teacher.AccountId.ToString(), wait);
        await teacherPage.WaitForFunctionAsync(Speaking, pupil.AccountId.ToString(), wait);

        // The teacher switches her microphone: the same connection sends the new track, and the pupil still hears her.
        await teacherPage.SelectOptionAsync("#mic", new SelectOptionValue { Label = "Fake Audio Input 2" });
        await teacherPage.WaitForFunctionAsync("() => window.callState.publisher.getSenders().some(s => s.track && s.track.label === 'Fake Audio Input 2')", null, wait);
        Assert.Equal("connected", await teacherPage.EvaluateAsync<string>("() => window.callState.publisher.connectionState"));
        const string Energy = "async () => { for (const pc of window.callState.subscribers.values()) for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'audio') return s.totalAudioEnergy || 0; return 0; }";
        var before = await pupilPage.EvaluateAsync<double>(Energy);
        await WaitOnPageAsync(pupilPage, $"async before => ({Energy})().then(e => e > before + 0.05)", "hears no new sound from the teacher's second microphone", before);
        await pupilPage.WaitForFunctionAsync(Speaking, teacher.AccountId.ToString(), wait);
        Assert.Equal(2, await pupilPage.Locator("#participants li").CountAsync());

        // The pupil joined without a camera: the call knows it, and the teacher's page says so instead of a still tile.
        const string CameraOff = "account => document.querySelector(`.tile[data-account='${account}']`)?.classList.contains('camera-off') && document.querySelector(`#participants li[data-account-id='${account}']`).textContent.includes('камера выключена')";
        await teacherPage.WaitForFunctionAsync(CameraOff, pupil.AccountId.ToString(), wait);
        Assert.False(await pupilPage.EvaluateAsync<bool>(CameraOff, teacher.AccountId.ToString()));
        const string VideoMutedOnServer = "async account => (await window.callState.hub.invoke('GetCall', window.callState.callId)).participants.find(p => p.accountId === account).videoMuted";
        Assert.True(await teacherPage.EvaluateAsync<bool>(VideoMutedOnServer, pupil.AccountId.ToString()));

        // She turns a camera on: the call is told, the teacher decodes her video and her tile is a video again.
        await pupilPage.EvaluateAsync("() => { const s = document.getElementById('camera'); s.value = [...s.options].find(o => o.value !== 'none').value; s.dispatchEvent(new Event('change')); }");
        await teacherPage.WaitForFunctionAsync($"account => !({CameraOff})(account)", pupil.AccountId.ToString(), wait);
        Assert.False(await teacherPage.EvaluateAsync<bool>(VideoMutedOnServer, pupil.AccountId.ToString()));
        var pupilVideo = await WaitForVideoAsync(teacherPage, AnyVideo);
        Assert.True(pupilVideo.GetProperty("frames").GetInt32() > 10, $"the teacher decoded only {pupilVideo} of the pupil's camera");

        // And off again («Без камеры»): the teacher's page says so again.
        await pupilPage.SelectOptionAsync("#camera", "none");
        await teacherPage.WaitForFunctionAsync(CameraOff, pupil.AccountId.ToString(), wait);

        // The teacher picks another speaker («Динамик»): the pupil's sound plays there, unmuted.
        await teacherPage.SelectOptionAsync("#speaker", new SelectOptionValue { Label = "Fake Audio Output 2" });
        await teacherPage.WaitForFunctionAsync($"() => {{ const v = document.getElementById('speaker').value; const a = {Remote}; return v !== 'default' && a.length > 0 && a.every(x => x.sinkId === v && !x.muted); }}", null, wait);

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceFact]
    public async Task GalleryCall_PageReceivesVideoOfItsBudgetOnly_SoundOfEveryone_AFreedPlaceGoesToThePausedCamera()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("10А");
        var teacher = await school.AddVerifiedTeacherAsync("Ольга Ивановна", a.Id);
        var pupils = new List<TestUser>();
        foreach (var name in new[] { "Саша", "Дима", "Лена" })
        {
            pupils.Add(await school.AddStudentAsync(name, a.Id));
        }

        // A parent meeting's shape: everyone publishes a camera. Every page of this browser receives video of two
        // cameras at most (a phone's budget is 4, a desktop's 9; the test's is 2 so that three pupils exceed it).
        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: false);
        await teacherPage.EvaluateAsync("() => localStorage.setItem('chat.maxVideo', '2')");
        var pupilPages = new List<IPage>();
        foreach (var pupil in pupils)
        {
            var page = await browser.JoinAsync(pupil, callId);
            // Silent microphones (the fake ones beep): who speaks goes first, and here nobody should.
            await page.EvaluateAsync("() => window.callState.local.getAudioTracks().forEach(t => { t.enabled = false; })");
            pupilPages.Add(page);
        }

        // The teacher's page subscribes to all three; once none of them speaks any more (her own microphone beeps on),
        // two cameras' video is received and one tile says its video is paused.
        var wait = new PageWaitForFunctionOptions { Timeout = 60_000 };
        const string Settled = """
            () => window.callState.videoMids.size === 3 && [...window.callState.speaking].every(a => a === window.callState.me) && !window.callState.sharingVideo
              && [...window.callState.videoOn.values()].filter(Boolean).length === 2
              && document.querySelectorAll('#videos .tile.video-paused').length === 1
            """;
        const string Video = """
            () => JSON.stringify({ mids: [...window.callState.videoMids], on: [...window.callState.videoOn], speaking: [...window.callState.speaking],
              sharing: window.callState.sharingVideo, paused: document.querySelectorAll('#videos .tile.video-paused').length,
              subscribers: window.callState.subscribers.size, status: document.getElementById('status').textContent })
            """;
        async Task SettleAsync()
        {
            try
            {
                await teacherPage.WaitForFunctionAsync(Settled, null, wait);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"the teacher's page did not settle on two cameras' video: {await teacherPage.EvaluateAsync<string>(Video)}", e);
            }
        }

        await SettleAsync();
        await Task.Delay(1500);
        await SettleAsync();

        // A stream the subscription does not have (a page whose mids are out of date): feed_not_found, on which the page
        // subscribes anew — never media_unavailable, which would have it wait for a media server that is fine.
        var refused = await teacherPage.EvaluateAsync<string>(
            "() => window.callState.hub.invoke('SetFeedStream', window.callState.callId, [...window.callState.subscribers.keys()][0], 'zz9', false).then(() => 'accepted', e => e.message)");
        Assert.True(refused.Contains("feed_not_found", StringComparison.Ordinal), refused);

        // A pupil's page (the teacher and two classmates, budget two) receives the host's camera whatever happens.
        await pupilPages[0].WaitForFunctionAsync(
            "host => window.callState.videoMids.size === 3 && [...window.callState.videoOn.values()].filter(Boolean).length === 2 && window.callState.videoOn.get([...window.callState.feedAccounts].find(([, a]) => a === host)?.[0]) === true",
            teacher.AccountId.ToString(), wait);

        // Over three seconds: the two received cameras decode frames, the paused one none; all three are heard.
        const string Counts = """
            async () => {
              const out = {};
              for (const [feed, pc] of window.callState.subscribers) {
                const c = { video: 0, audio: 0, on: window.callState.videoOn.get(feed), account: window.callState.feedAccounts.get(feed) };
                for (const s of (await pc.getStats()).values()) {
                  if (s.type === 'inbound-rtp' && s.kind === 'video') c.video = s.framesDecoded || 0;
                  if (s.type === 'inbound-rtp' && s.kind === 'audio') c.audio = s.packetsReceived || 0;
                }
                out[feed] = c;
              }
              return JSON.stringify(out);
            }
            """;
        var before = JsonDocument.Parse(await teacherPage.EvaluateAsync<string>(Counts)).RootElement;
        await Task.Delay(3000);
        var after = JsonDocument.Parse(await teacherPage.EvaluateAsync<string>(Counts)).RootElement;
        string? pausedAccount = null;
        string? receivedAccount = null;
        foreach (var feed in after.EnumerateObject())
        {
            var then = before.GetProperty(feed.Name);
            var frames = feed.Value.GetProperty("video").GetInt32() - then.GetProperty("video").GetInt32();
            var packets = feed.Value.GetProperty("audio").GetInt32() - then.GetProperty("audio").GetInt32();
            Assert.True(packets > 20, $"feed {feed.Name}: {packets} audio packets in 3 s ({after})");
            if (feed.Value.GetProperty("on").GetBoolean())
            {
                Assert.True(frames > 10, $"feed {feed.Name} (video received): {frames} frames in 3 s ({after})");
                receivedAccount = feed.Value.GetProperty("account").GetString();
            }
            else
            {
                Assert.True(frames <= 1, $"feed {feed.Name} (video paused): {frames} frames in 3 s ({after})");
                pausedAccount = feed.Value.GetProperty("account").GetString();
            }
        }

        Assert.NotNull(pausedAccount);
        Assert.NotNull(receivedAccount);

        // The paused classmate starts to speak (her fake microphone beeps again): her camera gets a place once the
        // others' hold (5 s) is over, and another camera is paused instead.
        var speaker = pausedAccount;
        await pupilPages[pupils.FindIndex(p => p.AccountId.ToString() == speaker)].EvaluateAsync("() => window.callState.local.getAudioTracks().forEach(t => { t.enabled = true; })");
        const string OnFor = """
            account => {
              const feed = [...window.callState.feedAccounts].find(([, a]) => a === account)?.[0];
              return !!feed && window.callState.videoOn.get(feed) === true && !window.callState.sharingVideo
                && [...window.callState.videoOn.values()].filter(Boolean).length === 2;
            }
            """;
        await teacherPage.WaitForFunctionAsync(OnFor, speaker, wait);
        const string AccountsByVideo = "on => [...window.callState.videoOn].filter(([, v]) => v === on).map(([f]) => window.callState.feedAccounts.get(f))";
        pausedAccount = Assert.Single(await teacherPage.EvaluateAsync<string[]>(AccountsByVideo, false));
        receivedAccount = Assert.Single(await teacherPage.EvaluateAsync<string[]>(AccountsByVideo, true), a => a != speaker);

        // The other received one leaves: the paused camera takes the freed place and its video is decoded.
        await pupilPages[pupils.FindIndex(p => p.AccountId.ToString() == receivedAccount)].ClickAsync("#leave");
        const string Resumed = """
            async account => {
              const feed = [...window.callState.feedAccounts].find(([, a]) => a === account)?.[0];
              if (!feed || !window.callState.videoOn.get(feed) || document.querySelector('#videos .tile.video-paused')) return false;
              for (const s of (await window.callState.subscribers.get(feed).getStats()).values())
                if (s.type === 'inbound-rtp' && s.kind === 'video') return window.resumedFrom === undefined ? (window.resumedFrom = s.framesDecoded || 0, false) : (s.framesDecoded || 0) > window.resumedFrom + 10;
              return false;
            }
            """;
        await WaitOnPageAsync(teacherPage, Resumed, "does not decode the resumed camera", pausedAccount);

        // On a poor connection she chooses «ничьё» in «Видео других»: both cameras pause (she still hears them);
        // back to the automatic budget, both come back.
        await teacherPage.SelectOptionAsync("#receive", "none");
        const string AllPaused = "() => [...window.callState.videoOn.values()].every(on => !on) && document.querySelectorAll('#videos .tile.video-paused').length === 2";
        await teacherPage.WaitForFunctionAsync(AllPaused, null, wait);
        // Frames Janus sent before it took the pause may still be in flight or in the jitter buffer: let them land first.
        await Task.Delay(1000);
        var pausedBefore = JsonDocument.Parse(await teacherPage.EvaluateAsync<string>(Counts)).RootElement;
        await Task.Delay(2000);
        foreach (var feed in JsonDocument.Parse(await teacherPage.EvaluateAsync<string>(Counts)).RootElement.EnumerateObject())
        {
            var then = pausedBefore.GetProperty(feed.Name);
            Assert.True(feed.Value.GetProperty("video").GetInt32() - then.GetProperty("video").GetInt32() <= 1, $"feed {feed.Name} still decodes video after «ничьё»");
            Assert.True(feed.Value.GetProperty("audio").GetInt32() - then.GetProperty("audio").GetInt32() > 10, $"feed {feed.Name} is not heard after «ничьё»");
        }

        Assert.Equal("none", await teacherPage.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('chat.callDevices')).receive"));
        await teacherPage.SelectOptionAsync("#receive", "auto");
        await teacherPage.WaitForFunctionAsync("() => [...window.callState.videoOn.values()].every(Boolean) && !document.querySelector('#videos .tile.video-paused')", null, wait);

        await EndCallAsync(teacherPage, callId);
    }

    [NamespaceTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ChatServerRestartsMidLesson_PagesRejoinTheSameCall_PublishAgain_EachDecodesTheOtherAgain(bool crash)
    {
        // The chat server runs as its own process here, so that it can stop and start again; Janus and the database stay.
        await using var node = app.NewNode();
        await node.StartAsync();
        await using var lesson = await LessonAsync("11А", "Светлана Андреевна", "Костя", node.BaseAddress.ToString().TrimEnd('/'));
        var (teacher, pupil, teacherPage, pupilPage, callId) = (lesson.Teacher, lesson.Pupil, lesson.TeacherPage, lesson.PupilPage, lesson.CallId);
        var pages = new[] { (Page: teacherPage, Other: pupil), (Page: pupilPage, Other: teacher) };
        foreach (var (page, _) in pages)
        {
            // What the page warns of (a refused rejoin, publish or ICE restart) goes into a failure's description.
            await page.EvaluateAsync("() => { window.consoleLines = []; const warn = console.warn.bind(console); console.warn = (...a) => { window.consoleLines.push(new Date().toISOString().slice(11, 23) + ' ' + a.join(' ')); warn(...a); }; }");
        }

        // The teacher lets the pupil speak: both send their cameras and each decodes the other's.
        await teacherPage.EvaluateAsync("([call, pupil]) => window.callState.hub.invoke('AllowToSpeak', call, pupil, true)", new object[] { callId, pupil.AccountId.ToString() });
        await pupilPage.ClickAsync("#unmute");
        foreach (var (page, other) in pages)
        {
            await DecodesAsync(page, other, "before the restart");
        }

        // A deploy (SIGTERM, a graceful shutdown) or a crash (SIGKILL): the chat server stops and starts again on the same
        // port. Janus, the call's room and the database stay; the new process holds no Janus handles, and Janus dropped
        // the old process's session (with its publishers and subscriptions) when its socket closed. The pages say they
        // reconnect.
        await (crash ? node.KillAsync() : node.StopAsync());
        foreach (var (page, _) in pages)
        {
            await Expect(page.Locator("#status")).ToHaveTextAsync("Нет связи с сервером, подключаемся снова…");
        }

        await node.StartAsync();
        foreach (var (page, _) in pages)
        {
            // Frames count from now: a connection to a handle Janus dropped may still be "connected" for a few seconds.
            await page.EvaluateAsync("() => { window.framesFrom = new WeakMap(); }");
        }

        // Both pages come back by themselves: each decodes the other's camera again (the feed the call now lists for that
        // person, frames advancing on a connected subscription), in the same call, in the lesson, everyone listed once.
        // The rejoin told each page that the new process holds none of its media (mediaHere false), so it built its
        // connections again at once rather than when the browser noticed that Janus had dropped them.
        try
        {
            foreach (var (page, other) in pages)
            {
                await DecodesAsync(page, other, "after the restart");
            }
        }
        catch (TimeoutException e)
        {
            var output = node.Output;
            throw new TimeoutException(
                $"{e.Message}\nteacher: {await teacherPage.EvaluateAsync<string>(PageState)}\npupil: {await pupilPage.EvaluateAsync<string>(PageState)}\nthe server: {output[Math.Max(0, output.Length - 4000)..]}", e);
        }

        var feeds = new List<long>();
        foreach (var (page, other) in pages)
        {
            await WaitOnPageAsync(page, "() => window.callState.publishing && document.getElementById('status').textContent === 'Вы на уроке.'", "is not back in the lesson, publishing");
            Assert.Equal(callId, await page.EvaluateAsync<string>("() => window.callState.callId"));
            Assert.Equal(1, await page.EvaluateAsync<int>("() => window.callState.mediaRebuilds"));
            var call = await page.EvaluateAsync<JsonElement>("call => window.callState.hub.invoke('GetCall', call)", callId);
            var accounts = call.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("accountId").GetString()).Order().ToList();
            Assert.Equal(new[] { teacher.AccountId.ToString(), pupil.AccountId.ToString() }.Order(), accounts);
            await Expect(page.Locator("#participants li")).ToHaveCountAsync(2);
            var feed = await FeedOfAsync(page, callId, other);
            Assert.Equal($"[{feed}]", await page.EvaluateAsync<string>("() => JSON.stringify([...window.callState.subscribers.keys()])"));
            feeds.Add(feed);
        }

        // The chat's live call is still the one the lesson started, and its Janus room holds exactly the two listed
        // camera feeds: nothing of the old process is left publishing there.
        await using (var db = new NpgsqlConnection(app.ConnectionString))
        {
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT id, sfu_room FROM calls WHERE chat_id = (SELECT chat_id FROM calls WHERE id = @c) AND ended_at IS NULL", db);
            cmd.Parameters.AddWithValue("c", Guid.Parse(callId));
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(Guid.Parse(callId), reader.GetGuid(0));
            await using var janus = await JanusClient.ConnectAsync(new Uri(app.Janus!.Url), TimeSpan.FromSeconds(25), CancellationToken.None);
            var handle = await janus.AttachAsync(CancellationToken.None);
            Assert.Equal(feeds.Order(), (await janus.PublisherFeedsAsync(handle, reader.GetInt64(1), CancellationToken.None)).Order());
        }

        await EndCallAsync(teacherPage, callId);
    }

    /// <summary>Waits (a minute at most) until <paramref name="page"/> decodes the camera of <paramref name="other"/> (<see cref="DecodesAdvancing"/>).</summary>
    private static Task DecodesAsync(IPage page, TestUser other, string when) =>
        WaitOnPageAsync(page, DecodesAdvancing, $"does not decode {other.AccountId}'s camera {when}", other.AccountId.ToString());

    /// <summary>
    /// Polls <paramref name="script"/> (sync or async: evaluated and awaited each time, unlike WaitForFunctionAsync, which
    /// takes an async predicate's promise for true at once, Playwright #29132) until it is true, a minute at most; on
    /// timeout says what the call page was doing. Every wait on an async condition (getStats) goes through here.
    /// </summary>
    private static async Task WaitOnPageAsync(IPage page, string script, string failure, object? arg = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await page.EvaluateAsync<bool>(script, arg))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the page {failure}: {await page.EvaluateAsync<string>(PageState)}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>What a call page is doing, for a failure's description (its warnings if the test collects them).</summary>
    private const string PageState = """
        () => JSON.stringify({ me: window.callState.me, hub: window.callState.hub.state, status: document.getElementById('status').textContent,
          publisher: window.callState.publisher?.connectionState, publishing: window.callState.publishing,
          republishing: !!window.callState.republishing, subscribers: [...window.callState.subscribers].map(([f, pc]) => f + ':' + pc.connectionState),
          participants: window.callState.lastCall?.participants.map(p => p.accountId + ':' + p.feedId), console: window.consoleLines })
        """;

    /// <summary>
    /// Whether the page decodes the camera of <c>account</c>: its subscription to the feed the call lists for that person
    /// is connected and has decoded more than ten sized frames since this script first saw that connection.
    /// </summary>
    private const string DecodesAdvancing = """
        async account => {
          const feed = window.callState.lastCall?.participants.find(p => p.accountId === account)?.feedId;
          const pc = feed && window.callState.subscribers.get(feed);
          if (!pc || pc.connectionState !== 'connected') return false;
          let frames = 0, width = 0;
          for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') { frames = s.framesDecoded || 0; width = s.frameWidth || 0; }
          window.framesFrom ??= new WeakMap();
          if (!window.framesFrom.has(pc)) { window.framesFrom.set(pc, frames); return false; }
          return width > 0 && frames > window.framesFrom.get(pc) + 10;
        }
        """;

    /// <summary>
    /// Polls <paramref name="script"/> (which returns at least <c>{ frames, width }</c>) until more than ten frames of
    /// a sized video were decoded, or 30 s passed; returns the last answer for the test to judge.
    /// </summary>
    private static async Task<JsonElement> WaitForVideoAsync(IPage page, string script, object? arg = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement stats;
        do
        {
            stats = await page.EvaluateAsync<JsonElement>(script, arg);
            if (stats.GetProperty("frames").GetInt32() > 10 && stats.GetProperty("width").GetInt32() > 0)
            {
                break;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);
        return stats;
    }

    /// <summary>Frames decoded and width of the video the page receives of one feed (0 without a subscription).</summary>
    private const string FeedVideo = """
        async feed => {
          const pc = window.callState.subscribers.get(feed);
          if (!pc) return { frames: 0, width: 0 };
          for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') return { frames: s.framesDecoded || 0, width: s.frameWidth || 0 };
          return { frames: 0, width: 0 };
        }
        """;

    /// <summary>
    /// What the browser reports when a connection's path is lost but ICE has not given up yet (a network change):
    /// "disconnected", kept until the test deletes the property again.
    /// </summary>
    private const string DisconnectScript = """
        pc => {
          Object.defineProperty(pc, 'connectionState', { get: () => 'disconnected', configurable: true });
          pc.dispatchEvent(new Event('connectionstatechange'));
        }
        """;

    /// <summary>The camera feed the server has for <paramref name="who"/> in the call, read through the page's hub.</summary>
    private static async Task<long> FeedOfAsync(IPage page, string callId, TestUser who)
    {
        var call = await page.EvaluateAsync<JsonElement>("call => window.callState.hub.invoke('GetCall', call)", callId);
        return call.GetProperty("participants").EnumerateArray().Single(p => p.GetProperty("accountId").GetString() == who.AccountId.ToString()).GetProperty("feedId").GetInt64();
    }

    /// <summary>The id of a connection's selected ICE candidate pair (from its transport's stats), or "".</summary>
    private const string SelectedPair = """
        async pc => { for (const s of (await pc.getStats()).values()) if (s.type === 'transport') return s.selectedCandidatePairId || ''; return ''; }
        """;

    /// <summary>
    /// Whether a connection has moved to a new ICE session: a selected candidate pair other than <c>old</c>, whose checks
    /// succeeded, and the connection connected.
    /// </summary>
    private const string NewPairSelected = """
        async (pc, old) => {
          const stats = await pc.getStats();
          for (const s of stats.values()) {
            if (s.type !== 'transport' || !s.selectedCandidatePairId || s.selectedCandidatePairId === old) continue;
            const pair = stats.get(s.selectedCandidatePairId);
            return !!pair && pair.state === 'succeeded' && pc.connectionState === 'connected';
          }
          return false;
        }
        """;

    /// <summary>What the browser does when ICE gives up on a connection (the network changed under it): "failed".</summary>
    private const string FailScript = """
        pc => {
          window.failedPc = pc;
          Object.defineProperty(pc, 'connectionState', { get: () => 'failed' });
          pc.dispatchEvent(new Event('connectionstatechange'));
        }
        """;

    /// <summary>
    /// The feed whose video the page decodes (more than 10 frames), other than <paramref name="notThis"/> and not on the
    /// connection a test made fail (<c>window.failedPc</c>); 0 if none within a minute.
    /// </summary>
    private static async Task<long> DecodingFeedAsync(IPage page, long notThis)
    {
        const string Decoded = """
            async () => {
              for (const [feed, pc] of window.callState.subscribers) {
                if (pc === window.failedPc) continue;
                for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video' && (s.framesDecoded || 0) > 10 && s.frameWidth > 0) return feed;
              }
              return 0;
            }
            """;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var feed = await page.EvaluateAsync<long>(Decoded);
            if (feed != 0 && feed != notThis)
            {
                return feed;
            }

            await Task.Delay(250);
        }

        return 0;
    }

    /// <summary>A lesson in a new class: its teacher started it and one pupil joined, each on a call page of one browser.</summary>
    private async Task<LessonOnPages> LessonAsync(string className, string teacherName, string pupilName, string? baseUrl = null)
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync(className);
        var teacher = await school.AddVerifiedTeacherAsync(teacherName, a.Id);
        var pupil = await school.AddStudentAsync(pupilName, a.Id);
        var browser = await CallBrowser.LaunchAsync(baseUrl ?? app.BaseUrl);
        try
        {
            var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: true);
            var pupilPage = await browser.JoinAsync(pupil, callId);
            return new LessonOnPages(browser, teacher, pupil, teacherPage, pupilPage, callId);
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private sealed record LessonOnPages(CallBrowser Browser, TestUser Teacher, TestUser Pupil, IPage TeacherPage, IPage PupilPage, string CallId) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Browser.DisposeAsync();
    }

    private static Task EndCallAsync(IPage hostPage, string callId) => hostPage.EvaluateAsync("call => window.callState.hub.invoke('EndCall', call)", callId);
}

/// <summary>One headless Chromium with fake cameras and one context, opening the server's call page for each person.</summary>
internal sealed class CallBrowser : IAsyncDisposable
{
    private static readonly string[] ChromiumFlags =
    [
        "--no-first-run", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns", "--disable-dev-shm-usage", "--auto-select-desktop-capture-source=Entire screen",
    ];

    private readonly IPlaywright playwright;
    private readonly IBrowser browser;
    private readonly IBrowserContext context;
    private readonly string baseUrl;

    private CallBrowser(IPlaywright playwright, IBrowser browser, IBrowserContext context, string baseUrl)
    {
        this.playwright = playwright;
        this.browser = browser;
        this.context = context;
        this.baseUrl = baseUrl;
    }

    public static async Task<CallBrowser> LaunchAsync(string baseUrl)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Args = ChromiumFlags, Headless = true });
        return new CallBrowser(playwright, browser, await browser.NewContextAsync(), baseUrl);
    }

    public async Task<IPage> NewCallPageAsync()
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(baseUrl + "/call.html");
        return page;
    }

    /// <summary>The host's page starts a call in the chat (publishing its camera); returns the page and the call id.</summary>
    public async Task<(IPage Page, string CallId)> StartAsync(TestUser host, Guid chatId, bool lesson, bool relay = false)
    {
        var page = await NewCallPageAsync();
        var callId = await page.EvaluateAsync<string>(
            "([token, chat, lesson, relay]) => window.startCall({ token, chat, lesson, relay })",
            new object[] { host.Tokens.AccessToken, chatId.ToString(), lesson, relay });
        return (page, callId);
    }

    /// <summary>A participant's page joins the call and subscribes to every feed.</summary>
    public async Task<IPage> JoinAsync(TestUser who, string callId, bool relay = false)
    {
        var page = await NewCallPageAsync();
        await page.EvaluateAsync<string>("([token, call, relay]) => window.startCall({ token, call, relay })", new object[] { who.Tokens.AccessToken, callId, relay });
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await context.DisposeAsync();
        await browser.DisposeAsync();
        playwright.Dispose();
    }
}
