using Chat.Signaling.Calls;

namespace Chat.Signaling.Tests.Calls;

public sealed class CallStateTests
{
    private static readonly Guid Teacher = Guid.NewGuid();
    private static readonly Guid Pupil = Guid.NewGuid();
    private static readonly Guid Pupil2 = Guid.NewGuid();

    private static CallState Lesson()
    {
        var call = new CallState(Guid.NewGuid(), Guid.NewGuid(), Teacher, lessonMode: true);
        call.Join(Teacher);
        return call;
    }

    private static string Code(Action action) => Assert.Throws<CallException>(action).Code;

    [Fact]
    public void Lesson_pupils_join_muted_with_the_camera_off_and_the_host_does_not()
    {
        var call = Lesson();
        var pupil = call.Join(Pupil);
        Assert.True(pupil.AudioMuted);
        Assert.True(pupil.VideoMuted);
        Assert.False(pupil.SpeakAllowed);
        var host = call.Find(Teacher)!;
        Assert.False(host.AudioMuted);
        Assert.True(host.SpeakAllowed);
    }

    [Fact]
    public void Outside_lesson_mode_everyone_may_speak()
    {
        var call = new CallState(Guid.NewGuid(), Guid.NewGuid(), Teacher, lessonMode: false);
        call.Join(Teacher);
        var p = call.Join(Pupil);
        Assert.True(p.SpeakAllowed);
        call.SetMuted(Pupil, audioMuted: false, videoMuted: false);
    }

    [Fact]
    public void A_pupil_unmutes_only_after_the_host_allows_and_not_after_it_is_taken_back()
    {
        var call = Lesson();
        call.Join(Pupil);
        Assert.Equal("speak_not_allowed", Code(() => call.SetMuted(Pupil, audioMuted: false, videoMuted: true)));
        Assert.False(call.MayPublish(Pupil));

        call.RaiseHand(Pupil, true);
        Assert.True(call.Find(Pupil)!.HandRaised);
        call.AllowToSpeak(Teacher, Pupil, true);
        Assert.False(call.Find(Pupil)!.HandRaised);
        call.SetMuted(Pupil, audioMuted: false, videoMuted: false);
        Assert.True(call.MayPublish(Pupil));

        call.AllowToSpeak(Teacher, Pupil, false);
        Assert.True(call.Find(Pupil)!.AudioMuted);
        Assert.Equal("speak_not_allowed", Code(() => call.SetMuted(Pupil, audioMuted: false, videoMuted: true)));
    }

    [Fact]
    public void Only_the_host_moderates()
    {
        var call = Lesson();
        call.Join(Pupil);
        call.Join(Pupil2);
        Assert.Equal("host_only", Code(() => call.AllowToSpeak(Pupil, Pupil2, true)));
        Assert.Equal("host_only", Code(() => call.Mute(Pupil, Pupil2)));
        Assert.Equal("host_only", Code(() => call.MuteAll(Pupil)));
        Assert.Equal("host_only", Code(() => call.Remove(Pupil, Pupil2)));
        Assert.Equal("host_only", Code(() => call.Lock(Pupil, true)));
        Assert.Equal("host_only", Code(() => call.End(Pupil)));
    }

    [Fact]
    public void Mute_all_mutes_everyone_but_the_host()
    {
        var call = new CallState(Guid.NewGuid(), Guid.NewGuid(), Teacher, lessonMode: false);
        call.Join(Teacher);
        call.Join(Pupil);
        call.Join(Pupil2);
        Assert.Equal(2, call.MuteAll(Teacher).Count);
        Assert.False(call.Find(Teacher)!.AudioMuted);
        Assert.True(call.Find(Pupil)!.AudioMuted);
    }

    [Fact]
    public void A_removed_participant_cannot_rejoin_and_a_locked_call_takes_no_one_new()
    {
        var call = Lesson();
        call.Join(Pupil);
        call.Remove(Teacher, Pupil);
        Assert.DoesNotContain(call.Present, p => p.AccountId == Pupil);
        Assert.Equal("participant_removed", Code(() => call.Join(Pupil)));

        call.Lock(Teacher, true);
        Assert.Equal("call_locked", Code(() => call.Join(Pupil2)));
        call.Join(Guid.NewGuid(), moderator: true);
        call.Lock(Teacher, false);
        call.Join(Pupil2);
    }

    [Fact]
    public void The_call_ends_when_the_host_ends_it()
    {
        var call = Lesson();
        call.Join(Pupil);
        call.End(Teacher);
        Assert.True(call.Ended);
        Assert.Empty(call.Present);
        Assert.Equal("call_ended", Code(() => call.Join(Pupil2)));
    }

    [Fact]
    public void The_call_ends_when_the_last_participant_leaves_and_not_before()
    {
        var call = Lesson();
        call.Join(Pupil);
        Assert.False(call.Leave(Teacher));
        Assert.False(call.Ended);
        call.Join(Teacher);
        call.Leave(Pupil);
        Assert.True(call.Leave(Teacher));
        Assert.True(call.Ended);
    }

    [Fact]
    public void Rejoining_keeps_the_participants_state()
    {
        var call = Lesson();
        call.Join(Pupil);
        call.AllowToSpeak(Teacher, Pupil, true);
        call.Leave(Pupil);
        var again = call.Join(Pupil);
        Assert.True(again.SpeakAllowed);
    }

    [Fact]
    public void Strangers_cannot_act_in_the_call()
    {
        var call = Lesson();
        Assert.Equal("not_in_call", Code(() => call.RaiseHand(Pupil, true)));
        Assert.Equal("not_in_call", Code(() => call.SetFeed(Pupil, 1)));
        Assert.Equal("participant_gone", Code(() => call.AllowToSpeak(Teacher, Pupil, true))); // the host acting on someone not there
    }

    [Fact]
    public void Call_holds_128_participants_and_refuses_the_next()
    {
        var call = new CallState(Guid.NewGuid(), Guid.NewGuid(), Teacher, lessonMode: true);
        call.Join(Teacher);
        for (var i = 1; i < CallState.MaxParticipants; i++)
        {
            call.Join(Guid.NewGuid());
        }

        Assert.Equal(128, call.Present.Count());
        Assert.Equal("call_full", Code(() => call.Join(Guid.NewGuid())));
    }

    [Fact]
    public void Broadcast_viewers_are_counted_never_publish_even_moderators_and_presenters_are_made_by_the_host()
    {
        var call = new CallState(Guid.NewGuid(), Guid.NewGuid(), Teacher, lessonMode: false, broadcast: true);
        call.Join(Teacher);
        for (var i = 0; i < 200; i++)
        {
            call.Join(Guid.NewGuid());
        }

        call.Join(Pupil, moderator: true);
        Assert.Equal(201, call.ViewerCount);
        Assert.Equal("viewer_cannot_publish", Code(() => call.RequireNotViewer(Pupil)));
        Assert.Equal("speak_not_allowed", Code(() => call.SetMuted(Pupil, false, false)));
        Assert.Equal("share_not_allowed", Code(() => call.RequireScreenSlot(Pupil)));
        Assert.Equal("host_only", Code(() => call.SetPresenter(Pupil2, Pupil, true)));

        call.SetPresenter(Teacher, Pupil, true);
        call.RequireNotViewer(Pupil);
        call.SetFeed(Pupil, 42);
        Assert.Equal(200, call.ViewerCount);
        var (camera, screen) = call.SetPresenter(Teacher, Pupil, false);
        Assert.Equal((42L, (long?)null), (camera!.Value, screen));
        Assert.Null(call.Find(Pupil)!.FeedId);
        Assert.Equal("viewer_cannot_publish", Code(() => call.RequireNotViewer(Pupil)));
    }

    [Fact]
    public void Screen_one_at_a_time_lesson_needs_permission_host_stops_it()
    {
        var call = Lesson();
        call.Join(Pupil);
        call.Join(Pupil2);
        call.SetScreenFeed(Teacher, 7);
        Assert.Equal("share_not_allowed", Code(() => call.RequireScreenSlot(Pupil)));
        call.AllowToShare(Teacher, Pupil, true);
        Assert.Equal("screen_busy", Code(() => call.SetScreenFeed(Pupil, 8)));
        Assert.Equal(7L, call.StopScreen(Teacher, Teacher));
        call.SetScreenFeed(Pupil, 8);
        Assert.Equal("host_only", Code(() => call.StopScreen(Pupil2, Pupil)));
        Assert.Equal(8L, call.AllowToShare(Teacher, Pupil, false));
        Assert.Null(call.Find(Pupil)!.ScreenFeedId);
        call.SetScreenFeed(Teacher, 9);
        call.Leave(Teacher);
        Assert.Null(call.Find(Teacher)!.ScreenFeedId);
    }
}
