using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// The waiting room: a lesson opened to people of the same school outside the class chat. They ask and wait, the host
/// sees the queue and admits or rejects; chat members enter directly; nobody from another school gets in.
/// </summary>
public sealed class WaitingRoomTests(CallsApp app) : IClassFixture<CallsApp>
{
    [Fact]
    public async Task GuestOfTheSchoolWaits_HostAdmitsOneAndRejectsAnother_MembersEnterDirectly_OtherSchoolLearnsNothing()
    {
        var l = await Lesson.CreateAsync(app);
        var (teacher, pupil, pupil5B, chat) = (l.Teacher, l.Pupil, l.Stranger, l.Chat);
        var psychologist = await l.School.AddVerifiedTeacherAsync("Психолог Ольга Петровна");
        var otherSchool = await new SchoolBuilder(app).CreateAsync("Школа №2");
        var outsider = await otherSchool.AddStudentAsync("Чужой", (await otherSchool.CreateClassAsync("5А")).Id);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var g = await HubClient.ConnectAsync(app, psychologist);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        await using var k = await HubClient.ConnectAsync(app, pupil5B);
        await using var o = await HubClient.ConnectAsync(app, outsider);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, true)).Call.CallId;

        // Closed until the host opens it: a guest learns nothing; a member of the chat is told to just join.
        await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId).ExpectHubErrorAsync("chat_not_found");
        Assert.Equal("member", (await p.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId)).Status);
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await p.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true).ExpectHubErrorAsync("call_host_only");
        Assert.True((await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true)).WaitingRoom);

        // The psychologist asks; the host is told; joining before the decision is refused.
        var knocked = new TaskCompletionSource<CallGuestDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Connection.On<Guid, CallGuestDto>("CallGuestWaiting", (_, guest) => knocked.TrySetResult(guest));
        var asked = await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId);
        Assert.Equal("waiting", asked.Status);
        Assert.Equal(psychologist.AccountId, (await knocked.Task.WaitAsync(TimeSpan.FromSeconds(10))).AccountId);
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_guest_waiting");
        await g.Connection.InvokeAsync<CallDto>("GetCall", callId).ExpectHubErrorAsync("call_guest_waiting");

        // Someone from another school cannot even knock; a pupil of 5Б (same school) can.
        await o.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId).ExpectHubErrorAsync("chat_not_found");
        Assert.Equal("waiting", (await k.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId)).Status);

        // Only the host sees the queue and decides.
        await p.Connection.InvokeAsync<List<CallGuestDto>>("GetCallWaitingRoom", callId).ExpectHubErrorAsync("call_host_only");
        await p.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, psychologist.AccountId, true).ExpectHubErrorAsync("call_host_only");
        var queue = await t.Connection.InvokeAsync<List<CallGuestDto>>("GetCallWaitingRoom", callId);
        Assert.Equal([psychologist.AccountId, pupil5B.AccountId], queue.Select(x => x.AccountId).ToArray());
        Assert.All(queue, x => Assert.Equal("waiting", x.Status));
        await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, outsider.AccountId, true).ExpectHubErrorAsync("call_guest_not_found");

        var decided = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Connection.On<Guid, bool>("CallGuestDecided", (_, admitted) => decided.TrySetResult(admitted));
        await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, psychologist.AccountId, true);
        Assert.True(await decided.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var after = await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, pupil5B.AccountId, false);
        Assert.Equal("rejected", after.Single(x => x.AccountId == pupil5B.AccountId).Status);
        await k.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_guest_rejected");

        // The admitted guest joins under the lesson's rules and hears the call's events, but not the chat.
        var joined = await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var me = joined.Call.Participants.Single(x => x.AccountId == psychologist.AccountId);
        Assert.False(me.SpeakAllowed);
        var changed = new TaskCompletionSource<CallDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Connection.On<CallDto>("CallStateChanged", c => changed.TrySetResult(c));
        await t.Connection.InvokeAsync<CallDto>("RaiseHand", callId, true);
        Assert.Equal(callId, (await changed.Task.WaitAsync(TimeSpan.FromSeconds(10))).CallId);
        await g.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chat.Id, null, null).ExpectHubErrorAsync("chat_not_found");
        await g.Connection.InvokeAsync<CallDto>("LockCall", callId, true).ExpectHubErrorAsync("call_host_only");

        // The guest's page names the people in the call by GetCallNames (it may not read the chat's members), and the
        // members learn the guest's name the same way; those who never were in the call are not named, and someone
        // turned away or from another school learns nothing.
        var names = await g.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId);
        Assert.Contains(names, n => n.AccountId == teacher.AccountId);
        Assert.Contains(names, n => n.AccountId == pupil.AccountId);
        Assert.Contains(names, n => n.AccountId == psychologist.AccountId && n.DisplayName == "Психолог Ольга Петровна");
        Assert.DoesNotContain(names, n => n.AccountId == pupil5B.AccountId);
        Assert.Contains(await p.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId), n => n.AccountId == psychologist.AccountId);
        await k.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId).ExpectHubErrorAsync("call_guest_rejected");
        await o.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId).ExpectHubErrorAsync("chat_not_found");

        // The attendance lists the guest beside the class, without a chat role.
        var report = await t.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId);
        var guestRow = report.People.Single(x => x.AccountId == psychologist.AccountId);
        Assert.True(guestRow.Attended);
        Assert.Null(guestRow.ChatRole);
        await g.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId).ExpectHubErrorAsync("chat_not_found");

        var ended = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        g.Connection.On<Guid>("CallEnded", id => ended.TrySetResult(id));
        await t.Connection.InvokeAsync("EndCall", callId);
        Assert.Equal(callId, await ended.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>
    /// An admitted guest is in no chat of the call. When she leaves the school (the admin records that the psychologist
    /// left), she leaves the call too: the lesson hears it, and she cannot come back.
    /// </summary>
    [Fact]
    public async Task AdmittedGuestLeavesTheSchool_TakenOutOfTheCall()
    {
        var l = await Lesson.CreateAsync(app);
        var psychologist = await l.School.AddVerifiedTeacherAsync("Психолог Ольга Петровна");
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var g = await HubClient.ConnectAsync(app, psychologist);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true);
        await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId);
        await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, psychologist.AccountId, true);
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var left = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Connection.On<Guid, Guid>("ParticipantLeft", (call, who) =>
        {
            if (call == callId && who == psychologist.AccountId)
            {
                left.TrySetResult(who);
            }
        });

        await (await l.School.Admin.Http.PostAsJsonAsync($"{l.School.Api}/staff/{psychologist.AccountId}/leave", new { reason = "Уволилась" })).EnsureOkAsync();

        Assert.Equal(psychologist.AccountId, await left.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.DoesNotContain((await t.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants, p => p.AccountId == psychologist.AccountId);
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("chat_not_found");
        await t.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// The host closes the waiting room: a guest already let in (whose page lost the push while offline) still comes in
    /// on asking again; those still waiting are told no and their requests go, so the host's queue is empty and a later
    /// knock on the reopened room waits afresh. Nobody's request gets in once the call has ended.
    /// </summary>
    [Fact]
    public async Task RoomClosed_AnAdmittedGuestStillComesIn_TheWaitingAreDroppedAndTold_AKnockAfterTheEndIsRefused()
    {
        var l = await Lesson.CreateAsync(app);
        var psychologist = await l.School.AddVerifiedTeacherAsync("Психолог Ольга Петровна");
        var librarian = await l.School.AddVerifiedTeacherAsync("Библиотекарь Вера");
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var g = await HubClient.ConnectAsync(app, psychologist);
        await using var w = await HubClient.ConnectAsync(app, librarian);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true);
        await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId);
        Assert.Equal("waiting", (await w.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId)).Status);
        await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, psychologist.AccountId, true);
        var toldNo = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        w.Connection.On<Guid, bool>("CallGuestDecided", (call, admitted) => { if (call == callId) toldNo.TrySetResult(admitted); });

        await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, false);

        Assert.False(await toldNo.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.DoesNotContain(await t.Connection.InvokeAsync<List<CallGuestDto>>("GetCallWaitingRoom", callId), x => x.Status == "waiting");
        Assert.Equal("admitted", (await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId)).Status);
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await w.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId).ExpectHubErrorAsync("chat_not_found");

        await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true);
        Assert.Equal("waiting", (await w.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId)).Status);
        await t.Connection.InvokeAsync("EndCall", callId);
        await w.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId).ExpectHubErrorAsync("call_not_found");
    }

    /// <summary>
    /// The host removes a guest she had admitted: he is turned away for good — no more of the lesson's events, and
    /// nothing of it to read (before, he stayed "admitted": every change and join of the class still reached his
    /// page, and GetCall / GetCallNames told him who was in the lesson, pupils included).
    /// </summary>
    [Fact]
    public async Task HostRemovesAnAdmittedGuest_HeGetsNothingMoreOfTheLesson()
    {
        var l = await Lesson.CreateAsync(app);
        var psychologist = await l.School.AddVerifiedTeacherAsync("Психолог Ольга Петровна");
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var g = await HubClient.ConnectAsync(app, psychologist);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        await using var p2 = await HubClient.ConnectAsync(app, l.Pupil2);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true);
        await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId);
        await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, psychologist.AccountId, true);
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var outSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var heardAfter = new List<string>();
        g.Connection.On<CallDto>("CallStateChanged", c =>
        {
            if (outSeen.Task.IsCompleted)
            {
                lock (heardAfter)
                {
                    heardAfter.Add("CallStateChanged");
                }
            }
            else if (c.Participants.All(x => x.AccountId != psychologist.AccountId))
            {
                outSeen.TrySetResult();
            }
        });
        g.Connection.On<Guid, CallParticipantDto>("ParticipantJoined", (_, _) =>
        {
            lock (heardAfter)
            {
                if (outSeen.Task.IsCompleted)
                {
                    heardAfter.Add("ParticipantJoined");
                }
            }
        });

        await t.Connection.InvokeAsync<CallDto>("RemoveParticipant", callId, psychologist.AccountId);

        // His page learns he is out (the state without him), then nothing more.
        await outSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await p.Connection.InvokeAsync<CallDto>("RaiseHand", callId, true);
        await p2.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        // Their pushes were handed to his connection before this request's answer, so it comes after them.
        await g.Connection.InvokeAsync<CallDto>("GetCall", callId).ExpectHubErrorAsync("call_guest_rejected");
        lock (heardAfter)
        {
            Assert.Empty(heardAfter);
        }

        await g.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId).ExpectHubErrorAsync("call_guest_rejected");
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_guest_rejected");
        Assert.Equal("rejected", (await t.Connection.InvokeAsync<List<CallGuestDto>>("GetCallWaitingRoom", callId)).Single().Status);
        await t.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// «Закрыть вход», then someone knocks and the host clicks «Впустить»: he comes in, since the host let exactly him
    /// in (before, his JoinCall answered call_locked and the host saw nothing), still under the lesson's rules; the lock
    /// holds everyone else back.
    /// </summary>
    [Fact]
    public async Task LockedLesson_AGuestTheHostAdmits_ComesIn_UnderTheLessonsRules()
    {
        var l = await Lesson.CreateAsync(app);
        var psychologist = await l.School.AddVerifiedTeacherAsync("Психолог Ольга Петровна");
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var g = await HubClient.ConnectAsync(app, psychologist);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await t.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true);
        Assert.True((await t.Connection.InvokeAsync<CallDto>("LockCall", callId, true)).Locked);

        Assert.Equal("waiting", (await g.Connection.InvokeAsync<CallGuestDto>("AskToJoinCall", callId)).Status);
        await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_guest_waiting");
        await t.Connection.InvokeAsync<List<CallGuestDto>>("AdmitToCall", callId, psychologist.AccountId, true);

        var joined = await g.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.True(joined.Call.Locked);
        var me = joined.Call.Participants.Single(x => x.AccountId == psychologist.AccountId);
        Assert.False(me.SpeakAllowed);
        Assert.False(me.IsHost);
        await g.Connection.InvokeAsync<CallDto>("SetMuted", callId, false, true).ExpectHubErrorAsync("speak_not_allowed");
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_locked");
        await t.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task DirectCall_HasNoWaitingRoom()
    {
        var l = await Lesson.CreateAsync(app);
        var (school, teacher, pupil) = (l.School, l.Teacher, l.Pupil);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        var direct = await (await pupil.Http.PostAsJsonAsync($"{school.Api}/direct-chats", new { accountId = teacher.AccountId })).ReadAsync<ChatSummaryDto>();
        var callId = (await p.Connection.InvokeAsync<CallJoinDto>("StartCall", direct.Id, false)).Call.CallId;
        await p.Connection.InvokeAsync<CallDto>("SetWaitingRoom", callId, true).ExpectHubErrorAsync("waiting_room_not_allowed");
        await p.Connection.InvokeAsync("EndCall", callId);
    }
}
