using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Two server processes and Redis (<see cref="ClusterApp"/>) with one real private Janus; the in-process app is on the
/// same Redis and Janus too, so a change made through the API happens on a third node. Signaling only: outside a network
/// namespace no media flows.
/// </summary>
public sealed class JanusClusterApp : ClusterApp
{
    protected override bool WithJanus => true;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["ConnectionStrings:Redis"] = Redis.ConnectionString,
    };

    protected override IDictionary<string, string?> NodeSettings => new Dictionary<string, string?>
    {
        ["Calls__Janus__Urls__0"] = Janus!.Url,
    };
}

/// <summary>
/// Janus handles live in the memory of the node that attached them. Someone taken out of a call — they lost access to
/// the chat, or the host removed them — loses every handle of theirs, on whichever node it lives, not only on the node
/// that made the change. Observed from outside, through Janus's Admin API: the handles are gone from Janus.
/// </summary>
public sealed class CallNodesTests(JanusClusterApp cluster) : IClassFixture<JanusClusterApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    [Fact]
    public async Task PupilOnNodeB_LeavesTheSchoolThroughAnotherNode_TheirJanusHandlesOnNodeBAreDetached()
    {
        await using var scene = await LessonScene.StartAsync(cluster);

        // The change is made on a third node (the in-process app): neither the teacher's nor the pupil's.
        await (await scene.Lesson.School.Admin.Http.PostAsJsonAsync(
            $"{scene.Lesson.School.Api}/students/{scene.Lesson.Pupil.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();

        Assert.Equal(scene.Lesson.Pupil.AccountId, await scene.TeacherHearsLeft.WaitAsync(Wait));
        await scene.PupilHandlesGoneAsync();
    }

    [Fact]
    public async Task HostOnNodeA_RemovesPupilOnNodeB_TheirFeedAndHandlesOnNodeBAreGone()
    {
        await using var scene = await LessonScene.StartAsync(cluster);

        var after = await scene.Teacher.Connection.InvokeAsync<CallDto>("RemoveParticipant", scene.CallId, scene.Lesson.Pupil.AccountId);

        Assert.DoesNotContain(after.Participants, p => p.AccountId == scene.Lesson.Pupil.AccountId);
        Assert.Equal(scene.Lesson.Pupil.AccountId, await scene.TeacherHearsLeft.WaitAsync(Wait));
        await scene.PupilHandlesGoneAsync();
        await scene.Pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", scene.CallId).ExpectHubErrorAsync("removed_from_call");
    }

    [Fact]
    public async Task PupilOnNodeB_HangsUpFromNodeA_TheirHandlesOnNodeBAreDetachedToo()
    {
        await using var scene = await LessonScene.StartAsync(cluster);

        // The pupil's page reconnected to node A (or a second device of theirs is there) and leaves the call from it.
        await using var elsewhere = new NodeMember(scene.Lesson.Pupil);
        await elsewhere.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await elsewhere.Connection.InvokeAsync("LeaveCall", scene.CallId);

        Assert.Equal(scene.Lesson.Pupil.AccountId, await scene.TeacherHearsLeft.WaitAsync(Wait));
        await scene.PupilHandlesGoneAsync();
    }

    [Fact]
    public async Task PupilsPageMovesToNodeA_RejoinsThere_NodeBDetachesTheOldHandlesAndThePupilStays()
    {
        await using var scene = await LessonScene.StartAsync(cluster);

        // The pupil's connection broke and came back through node A (a load balancer's choice): the page rejoins there.
        await scene.Pupil.ConnectAsync(cluster.NodeA.BaseAddress, []);
        var rejoined = await scene.Pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", scene.CallId);

        Assert.False(rejoined.MediaHere); // the page builds its media again on node A
        Assert.Contains(rejoined.Call.Participants, p => p.AccountId == scene.Lesson.Pupil.AccountId);
        await scene.PupilHandlesGoneAsync(); // the teacher's camera stays
        Assert.Contains(
            (await scene.Pupil.Connection.InvokeAsync<CallDto>("GetCall", scene.CallId)).Participants,
            p => p.AccountId == scene.Lesson.Pupil.AccountId);
    }

    [Fact]
    public async Task TeacherOnNodeA_EndsTheLesson_NeitherNodeKeepsAHandleOfIt()
    {
        await using var scene = await LessonScene.StartAsync(cluster);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scene.Pupil.Connection.On<Guid>("CallEnded", callId =>
        {
            if (callId == scene.CallId)
            {
                ended.TrySetResult();
            }
        });

        await scene.Teacher.Connection.InvokeAsync("EndCall", scene.CallId);

        await ended.Task.WaitAsync(Wait);
        await scene.CallHandlesGoneAsync();
    }

    /// <summary>
    /// A lesson whose teacher is on node A and publishes; a pupil on node B joins, publishes (allowed to speak) and asks
    /// for the teacher's feed, so node B holds Janus handles of the pupil's: their camera's publisher handle and a
    /// subscriber handle. The teacher's offer is a captured one with no browser behind it, so the teacher's media never
    /// comes up and Janus does not join that subscriber to the feed (Subscribe answers feed_not_found); the handle stays
    /// attached all the same, kept by node B for the page's retry in the table a live subscription uses.
    /// </summary>
    private sealed class LessonScene : IAsyncDisposable
    {
        private readonly JanusClusterApp cluster;
        private IReadOnlyList<JanusHandleInfo> pupilOnB = [];
        private JanusHandleInfo teacherCamera = null!;

        private LessonScene(JanusClusterApp cluster, Lesson lesson)
        {
            this.cluster = cluster;
            Lesson = lesson;
            Teacher = new NodeMember(lesson.Teacher);
            Pupil = new NodeMember(lesson.Pupil);
        }

        public Lesson Lesson { get; }

        public NodeMember Teacher { get; }

        public NodeMember Pupil { get; }

        public Guid CallId { get; private set; }

        public Task<Guid> TeacherHearsLeft { get; private set; } = null!;

        public static async Task<LessonScene> StartAsync(JanusClusterApp cluster)
        {
            var scene = new LessonScene(cluster, await Lesson.CreateAsync(cluster));
            await scene.SetUpAsync();
            return scene;
        }

        private async Task SetUpAsync()
        {
            var before = (await cluster.Janus!.AdminHandlesAsync()).Select(h => h.Handle).ToHashSet();
            await Teacher.ConnectAsync(cluster.NodeA.BaseAddress, []);
            await Pupil.ConnectAsync(cluster.NodeB.BaseAddress, []);
            CallId = (await Teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", Lesson.Chat.Id, true)).Call.CallId;
            Assert.StartsWith("v=0", await Teacher.Connection.InvokeAsync<string>("Publish", CallId, Offer), StringComparison.Ordinal);
            await Pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", CallId);
            await Teacher.Connection.InvokeAsync<CallDto>("AllowToSpeak", CallId, Lesson.Pupil.AccountId, true);
            await Pupil.Connection.InvokeAsync<CallDto>("SetMuted", CallId, false, false); // as the page does before it publishes
            Assert.StartsWith("v=0", await Pupil.Connection.InvokeAsync<string>("Publish", CallId, Offer), StringComparison.Ordinal);
            var call = await Pupil.Connection.InvokeAsync<CallDto>("GetCall", CallId);
            var teacherFeed = call.Participants.Single(p => p.AccountId == Lesson.Teacher.AccountId).FeedId!.Value;
            await Pupil.Connection.InvokeAsync<string>("Subscribe", CallId, teacherFeed).ExpectHubErrorAsync("feed_not_found"); // see above

            var added = (await cluster.Janus.AdminHandlesAsync()).Where(h => !before.Contains(h.Handle)).ToList();
            teacherCamera = added.Single(h => h.Type == "publisher" && h.Display == Lesson.Teacher.AccountId.ToString("N"));
            var pupilCamera = added.Single(h => h.Type == "publisher" && h.Display == Lesson.Pupil.AccountId.ToString("N"));
            Assert.NotEqual(teacherCamera.Session, pupilCamera.Session); // node A's Janus session and node B's

            // Node B handled nothing but the pupil's requests: every handle its session gained in this test is the pupil's.
            pupilOnB = added.Where(h => h.Session == pupilCamera.Session).ToList();
            Assert.Equal(2, pupilOnB.Count); // the camera and the subscriber

            var left = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
            Teacher.Connection.On<Guid, Guid>("ParticipantLeft", (callId, who) =>
            {
                if (callId == CallId)
                {
                    left.TrySetResult(who);
                }
            });
            TeacherHearsLeft = left.Task;
        }

        /// <summary>Waits until Janus holds none of the pupil's handles on node B; the teacher's camera stays.</summary>
        public async Task PupilHandlesGoneAsync()
        {
            var now = await GoneAsync(pupilOnB, "node B still holds the pupil's handles");
            Assert.Contains(teacherCamera.Handle, now);
        }

        /// <summary>Waits until Janus holds none of the call's handles: the pupil's on node B and the teacher's camera on node A.</summary>
        public Task CallHandlesGoneAsync() => GoneAsync([.. pupilOnB, teacherCamera], "Janus still holds handles of the ended call");

        private Task<HashSet<long>> GoneAsync(IReadOnlyList<JanusHandleInfo> handles, string failure) =>
            JanusHandles.GoneAsync(cluster.Janus!, handles, failure);

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Teacher.Connection.InvokeAsync("EndCall", CallId);
            }
            catch (Exception e) when (e is HubException or InvalidOperationException)
            {
                // The test failed before the call started.
            }

            await Teacher.DisposeAsync();
            await Pupil.DisposeAsync();
        }
    }
}

/// <summary>
/// The in-process app and one server process on one database and one real Janus, with no Redis between them: a drop
/// one node publishes never reaches the other, as when Redis is down. Node B checks its handles every second.
/// </summary>
public sealed class JanusPairApp : ChatApp
{
    protected override bool WithJanus => true;

    public HubServerProcess NewNode() => NodeProcess(new Dictionary<string, string?>
    {
        ["Calls__Janus__Urls__0"] = Janus!.Url,
        ["Calls__Presence__Poll"] = "00:00:00.2",
        ["Calls__Presence__HandleCheck"] = "00:00:01",
    });
}

/// <summary>
/// A node that never heard it should drop someone's handles — they were taken out of the call, or their page rejoined
/// through another node — finds it out itself and detaches them.
/// </summary>
public sealed class LostDropTests(JanusPairApp app) : IClassFixture<JanusPairApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    [Fact]
    public async Task HostRemovesAPupilWhoseHandlesAreOnANodeTheDropNeverReaches_ThatNodeDetachesThemItself()
    {
        await using var scene = await PairScene.StartAsync(app);

        // Removed by the host on this node: no Redis, so node B is never told.
        await scene.Teacher.Connection.InvokeAsync<CallDto>("RemoveParticipant", scene.CallId, scene.Lesson.Pupil.AccountId);

        await scene.PupilHandlesOnBGoneAsync("node B still holds the removed pupil's handles");
    }

    [Fact]
    public async Task PupilsPageMovesToTheOtherNode_TheDropNeverReachesNodeB_NodeBDetachesTheOldHandlesItself()
    {
        await using var scene = await PairScene.StartAsync(app);

        // The pupil's connection broke and came back through this node; no Redis, so node B never hears of the rejoin.
        await scene.Pupil.DisposeAsync();
        await using var moved = await HubClient.ConnectAsync(app, scene.Lesson.Pupil);
        var rejoined = await moved.Connection.InvokeAsync<CallJoinDto>("JoinCall", scene.CallId);
        Assert.False(rejoined.MediaHere);

        await scene.PupilHandlesOnBGoneAsync("node B still holds the handles of the pupil who rejoined elsewhere");
        Assert.Contains(
            (await moved.Connection.InvokeAsync<CallDto>("GetCall", scene.CallId)).Participants,
            p => p.AccountId == scene.Lesson.Pupil.AccountId);
    }

    /// <summary>
    /// A lesson whose teacher is on this node and publishes; a pupil on node B (no Redis between them) joins, publishes
    /// and asks for the teacher's feed, so node B holds two handles of the pupil's (see CallNodesTests.LessonScene).
    /// </summary>
    private sealed class PairScene : IAsyncDisposable
    {
        private readonly JanusPairApp app;
        private JanusHandleInfo teacherCamera = null!;
        private List<JanusHandleInfo> onB = [];

        private PairScene(JanusPairApp app, Lesson lesson, HubClient teacher, HubServerProcess nodeB)
        {
            this.app = app;
            Lesson = lesson;
            Teacher = teacher;
            NodeB = nodeB;
            Pupil = new NodeMember(lesson.Pupil);
        }

        public Lesson Lesson { get; }

        public HubClient Teacher { get; }

        public HubServerProcess NodeB { get; }

        public NodeMember Pupil { get; }

        public Guid CallId { get; private set; }

        public static async Task<PairScene> StartAsync(JanusPairApp app)
        {
            var lesson = await Lesson.CreateAsync(app);
            var nodeB = app.NewNode();
            var scene = new PairScene(app, lesson, await HubClient.ConnectAsync(app, lesson.Teacher), nodeB);
            await nodeB.StartAsync();
            await scene.SetUpAsync();
            return scene;
        }

        private async Task SetUpAsync()
        {
            await Pupil.ConnectAsync(NodeB.BaseAddress, []);
            var before = (await app.Janus!.AdminHandlesAsync()).Select(h => h.Handle).ToHashSet();
            CallId = (await Teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", Lesson.Chat.Id, true)).Call.CallId;
            Assert.StartsWith("v=0", await Teacher.Connection.InvokeAsync<string>("Publish", CallId, Offer), StringComparison.Ordinal);
            await Pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", CallId);
            await Teacher.Connection.InvokeAsync<CallDto>("AllowToSpeak", CallId, Lesson.Pupil.AccountId, true);
            await Pupil.Connection.InvokeAsync<CallDto>("SetMuted", CallId, false, false); // as the page does before it publishes
            Assert.StartsWith("v=0", await Pupil.Connection.InvokeAsync<string>("Publish", CallId, Offer), StringComparison.Ordinal);
            var teacherFeed = (await Pupil.Connection.InvokeAsync<CallDto>("GetCall", CallId)).Participants.Single(p => p.AccountId == Lesson.Teacher.AccountId).FeedId!.Value;
            await Pupil.Connection.InvokeAsync<string>("Subscribe", CallId, teacherFeed).ExpectHubErrorAsync("feed_not_found");
            var added = (await app.Janus.AdminHandlesAsync()).Where(h => !before.Contains(h.Handle)).ToList();
            teacherCamera = added.Single(h => h.Type == "publisher" && h.Display == Lesson.Teacher.AccountId.ToString("N"));
            onB = added.Where(h => h.Session != teacherCamera.Session).ToList();
            Assert.Equal(2, onB.Count); // the pupil's camera and subscriber
        }

        /// <summary>Waits (node B checks every second) until Janus holds none of the pupil's handles on node B; the teacher's camera stays.</summary>
        public async Task PupilHandlesOnBGoneAsync(string failure) =>
            Assert.Contains(teacherCamera.Handle, await JanusHandles.GoneAsync(app.Janus!, onB, failure));

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Teacher.Connection.InvokeAsync("EndCall", CallId);
            }
            catch (Exception e) when (e is HubException or InvalidOperationException)
            {
                // The test failed before the call started.
            }

            await Pupil.DisposeAsync();
            await Teacher.DisposeAsync();
            await NodeB.DisposeAsync();
        }
    }
}

/// <summary>Janus's handles as its Admin API lists them.</summary>
internal static class JanusHandles
{
    /// <summary>Polls Janus (15 s at most) until none of the handles is attached; returns the handles it holds then.</summary>
    public static async Task<HashSet<long>> GoneAsync(JanusServer janus, IReadOnlyList<JanusHandleInfo> handles, string failure)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var now = (await janus.AdminHandlesAsync()).Select(h => h.Handle).ToHashSet();
            var still = handles.Where(h => now.Contains(h.Handle)).ToList();
            if (still.Count == 0)
            {
                return now;
            }

            if (DateTime.UtcNow > until)
            {
                Assert.Fail($"{failure}: {string.Join(", ", still.Select(h => $"{h.Handle} ({h.Type ?? "not in a room"})"))}");
            }

            await Task.Delay(200);
        }
    }
}
