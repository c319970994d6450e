using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.Playwright;
using Npgsql;
using Xunit.Abstractions;

namespace Chat.Hub.Tests.Calls;

/// <summary>Runs only when asked (scripts/measure-calls-capacity.sh sets CHAT_CAPACITY=1 inside the network namespace).</summary>
public sealed class CapacityFactAttribute : FactAttribute
{
    public CapacityFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CHAT_E2E_NAMESPACE") != "1" || Environment.GetEnvironmentVariable("CHAT_CAPACITY") != "1")
        {
            Skip = "capacity measurement: run scripts/measure-calls-capacity.sh";
        }
    }
}

/// <summary>
/// Not a pass/fail test but a measurement: one teacher publishes camera video through the call page; N pupils (N real
/// accounts, each with its own hub connection and RTCPeerConnection, all in one headless page) subscribe to it through
/// the hub. For each N it reports Janus's CPU time and the video Janus delivers (sum over subscribers), sampled over
/// 10 s once everyone receives. It asserts only that the subscribers were set up and receive, so a broken run is
/// not mistaken for a figure.
/// </summary>
public sealed class CallCapacityMeasurement(BrowserCallsApp app, ITestOutputHelper output) : IClassFixture<BrowserCallsApp>
{
    private const string AddViewers = """
        async ([tokens, callId, feed]) => {
          window.viewers = window.viewers || [];
          const tasks = tokens.map(async token => {
            const hub = new signalR.HubConnectionBuilder().withUrl('/hubs/chat', { accessTokenFactory: () => token }).build();
            await hub.start();
            const joined = await hub.invoke('JoinCall', callId);
            const ice = (joined.iceServers || []).map(s => ({ urls: s.urls, username: s.username, credential: s.credential }));
            const pc = new RTCPeerConnection({ iceServers: ice, bundlePolicy: 'max-bundle' });
            pc.onicecandidate = e => { const c = e.candidate; hub.invoke('Trickle', { callId, feedId: feed, candidate: c ? c.candidate : null, sdpMid: c ? c.sdpMid : null, sdpMLineIndex: c ? c.sdpMLineIndex : null }).catch(() => {}); };
            let offer = null;
            for (let i = 0; offer === null && i < 80; i++) {
              try { offer = await hub.invoke('Subscribe', callId, feed); } catch (e) { await new Promise(r => setTimeout(r, 250)); }
            }
            await pc.setRemoteDescription({ type: 'offer', sdp: offer });
            const answer = await pc.createAnswer();
            await pc.setLocalDescription(answer);
            await hub.invoke('Answer', callId, feed, answer.sdp);
            window.viewers.push({ hub, pc });
          });
          const results = await Promise.allSettled(tasks);
          return results.filter(r => r.status === 'rejected').map(r => String(r.reason && r.reason.message || r.reason)).slice(0, 3);
        }
        """;

    private const string Totals = """
        async () => {
          let bytes = 0, frames = 0, receiving = 0;
          for (const v of window.viewers) {
            for (const s of (await v.pc.getStats()).values()) {
              if (s.type === 'inbound-rtp' && s.kind === 'video') { bytes += s.bytesReceived || 0; frames += s.framesDecoded || 0; if ((s.framesDecoded || 0) > 0) receiving++; }
            }
          }
          return { bytes, frames, receiving, count: window.viewers.length };
        }
        """;

    [CapacityFact]
    public async Task OneTeacherPublishes_NSubscribers_JanusCpuAndBandwidth()
    {
        var steps = (Environment.GetEnvironmentVariable("CHAT_CAPACITY_STEPS") ?? "10,25,50,100")
            .Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("11А");
        var teacher = await school.AddVerifiedTeacherAsync("Учитель", a.Id);
        var pupils = new List<TestUser>();
        for (var i = 0; i < steps.Max(); i++)
        {
            pupils.Add(await school.AddStudentAsync($"Ученик {i}", a.Id));
        }

        await using var browser = await CallBrowser.LaunchAsync(app.BaseUrl);
        var (teacherPage, callId) = await browser.StartAsync(teacher, await app.ClassChatAsync(a.Id), lesson: true);
        await teacherPage.WaitForFunctionAsync("() => window.callState.publishing", null, new() { Timeout = 20_000 });
        var feed = await teacherPage.EvaluateAsync<long>("async () => (await window.callState.hub.invoke('GetCall', window.callState.callId)).participants.find(p => p.isHost).feedId");
        var viewersPage = await browser.NewCallPageAsync();

        output.WriteLine($"cores: {Environment.ProcessorCount}; load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        output.WriteLine("subscribers | receiving | Janus CPU (% of one core) | video out of Janus (Mbit/s) | per subscriber (kbit/s) | decoded fps total");
        var added = 0;
        foreach (var n in steps)
        {
            var tokens = pupils.Skip(added).Take(n - added).Select(p => p.Tokens.AccessToken).ToArray();
            var errors = await viewersPage.EvaluateAsync<string[]>(AddViewers, new object[] { tokens, callId, feed });
            Assert.True(errors.Length == 0, "subscribing failed: " + string.Join("; ", errors));
            added = n;
            await Task.Delay(TimeSpan.FromSeconds(8));
            var before = await viewersPage.EvaluateAsync<JsonElement>(Totals);
            var cpu0 = app.Janus!.CpuSeconds();
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(10));
            var cpu1 = app.Janus.CpuSeconds();
            var after = await viewersPage.EvaluateAsync<JsonElement>(Totals);
            var seconds = clock.Elapsed.TotalSeconds;
            var mbit = (after.GetProperty("bytes").GetDouble() - before.GetProperty("bytes").GetDouble()) * 8 / seconds / 1e6;
            var fps = (after.GetProperty("frames").GetDouble() - before.GetProperty("frames").GetDouble()) / seconds;
            var receiving = after.GetProperty("receiving").GetInt32();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n} | {receiving} | {(cpu1 - cpu0) / seconds * 100:0.0} | {mbit:0.0} | {mbit * 1000 / n:0} | {fps:0}"));
            Assert.True(receiving > 0, $"none of {n} subscribers receives video");
        }

        output.WriteLine($"load average at end: {File.ReadAllText("/proc/loadavg").Trim()}");
        await teacherPage.EvaluateAsync("call => window.callState.hub.invoke('EndCall', call)", callId);
    }
}
