using Chat.Hub.Realtime;
using Chat.Storage.Calls;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// Someone who may no longer act in a chat — left the school or the chat, removed by a moderator, blocked — is taken
/// out of the chat's live call at once: a pupil who left the school must not go on watching the class.
/// </summary>
public sealed partial class CallService
{
    public async Task AccessLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> lost, CancellationToken ct)
    {
        // The change that took the access is stored; when a call cannot follow, it is left as it was (the person's next
        // request there is refused, and the host can still remove them).
        await InLiveCallsAsync(lost, PutOutAsync, ct);

        // A host who left the chat (left the school, taken out of it) hosts nothing there any more: their plans are
        // cancelled, so that no reminder goes out and nobody opens a lesson whose host cannot come (its mute and
        // «разрешить говорить» would belong to nobody). The chat's members see the plan go.
        try
        {
            foreach (var plan in await plans.CancelOfHostsGoneAsync(lost, ct))
            {
                var dto = ToPlanDto(plan);
                await TryPushAsync(plan.Id, () => hub.Clients.Group(LiveConnections.ChatGroup(plan.ChatId)).CallScheduled(dto));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAccessLostFailed(logger, e, Guid.Empty);
        }

        // Someone who left the school altogether also leaves the calls they were admitted to as a guest (they are in
        // no chat of those calls, so the chats above do not name them).
        try
        {
            foreach (var (call, accountId) in await calls.PresentOutsideTheirSchoolAsync(lost.Select(l => l.AccountId).Distinct().ToList(), ct))
            {
                await PutOutAsync(call, accountId, ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAccessLostFailed(logger, e, Guid.Empty);
        }
    }

    /// <summary>
    /// Does <paramref name="act"/> for each person in their chat's live call, chat by chat; a chat whose call cannot
    /// follow is logged and the others go on (what changed the person's rights is stored either way).
    /// </summary>
    private async Task InLiveCallsAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> people, Func<CallRow, Guid, CancellationToken, Task> act, CancellationToken ct)
    {
        foreach (var byChat in people.GroupBy(l => l.ChatId))
        {
            try
            {
                if (await calls.LiveInChatAsync(byChat.Key, ct) is not { } live)
                {
                    continue;
                }

                foreach (var accountId in byChat.Select(l => l.AccountId).Distinct())
                {
                    await act(live, accountId, ct);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogAccessLostFailed(logger, e, byChat.Key);
            }
        }
    }

    /// <summary>
    /// Takes one person out of the live call as if they had left, whatever their browser does: their camera and screen
    /// are kicked out of the Janus room and their handles are dropped on every node (<see cref="TakeOutOfMediaAsync"/>),
    /// the chat hears they left, and so do their own devices (no longer in the chat's group).
    /// </summary>
    private async Task PutOutAsync(CallRow live, Guid accountId, CancellationToken ct)
    {
        (long? Camera, long? Screen) feeds = default;
        var present = false;
        var dto = await MutateAsync(live.Id, [accountId], s =>
        {
            if (s.Find(accountId) is { Present: true })
            {
                present = true;
                feeds = FeedsOf(s, accountId);
                s.Leave(accountId);
            }
        }, ct);
        if (!present)
        {
            return;
        }

        await LeftAsync(dto, accountId, feeds, ct);
        // Not in the chat any more, so not told by the chat's pushes: their own devices hear it here.
        await TryPushAsync(live.Id, () => hub.Clients.User(accountId.ToString()).CallStateChanged(dto));
    }

    /// <summary>
    /// A moderator muted people in a chat: in its live call they stay and receive, but send nothing — microphone and
    /// camera off, their camera and screen feeds kicked out of the room (so nothing they had turned on before goes on),
    /// and turning anything on again is refused while the mute lasts (<c>member_muted</c>). The chat sees it at once.
    /// </summary>
    public Task PublishingLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> muted, CancellationToken ct) =>
        InLiveCallsAsync(muted, SilenceAsync, ct); // the mute is stored: whatever they turn on is refused all the same

    private async Task SilenceAsync(CallRow live, Guid accountId, CancellationToken ct)
    {
        (long? Camera, long? Screen) feeds = default;
        var present = false;
        var dto = await MutateAsync(live.Id, [accountId], s =>
        {
            if (s.Find(accountId) is { Present: true })
            {
                present = true;
                feeds = s.Silence(accountId);
            }
        }, ct);
        if (!present)
        {
            return;
        }

        await StopScreenInSfuAsync(live.Id, accountId, feeds.Screen, ct);
        await StopCameraInSfuAsync(live.Id, accountId, feeds.Camera, ct);
        await PushAsync(dto.ChatId, dto.CallId, c => c.CallStateChanged(dto));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not take people who lost access (or were muted) in chat {ChatId} out of its live call or its media")]
    private static partial void LogAccessLostFailed(ILogger logger, Exception exception, Guid chatId);
}
