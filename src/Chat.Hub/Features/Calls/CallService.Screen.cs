using Chat.Hub.Infrastructure;
using Chat.Signaling.Calls;
using Chat.Signaling.Sdp;
using Chat.Signaling.Sfu;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// Screen sharing: a participant's second published stream (feed kind "screen", <see cref="CallParticipantDto.ScreenFeedId"/>).
/// One screen per call at a time; in lesson mode a pupil shares only after the host's <see cref="AllowToShareAsync"/>;
/// the host stops anyone's share.
/// </summary>
public sealed partial class CallService
{
    /// <summary>
    /// Publishes the caller's screen (an offer with a sending video section); returns Janus's answer. As the camera's
    /// (<see cref="PublishAsync"/>), the feed is stored only if <paramref name="page"/> still has the call and, for a
    /// screen with sound, the caller may still speak.
    /// </summary>
    public async Task<string> PublishScreenAsync(Guid me, Guid callId, string sdpOffer, CancellationToken ct, string? page = null)
    {
        var row = await RequireMemberAsync(me, callId, ct, CallAccess.Publish);
        var (state, _) = await LoadAsync(row, me, ct);
        Translate(() => state.RequireNotViewer(me));
        Translate(() => state.RequireScreenSlot(me));
        var offer = Validate(sdpOffer, SdpPurpose.PublishOffer);
        var sending = offer.Media.Where(m => !m.IsRejected && m.Direction is MediaDirection.SendOnly or MediaDirection.SendRecv).ToList();
        if (!sending.Any(m => m.Kind == "video"))
        {
            throw new ChatException(ChatError.MediaInvalid, detail: $"{ChatError.MediaInvalid.Message} (screen_without_video)");
        }

        if (sending.Any(m => m.Kind == "audio") && !state.MayPublish(me))
        {
            // The screen's sound is sound too: in a lesson it needs the permission to speak.
            throw new ChatException(ChatError.SpeakNotAllowed);
        }

        var (client, sfuRow) = await SfuAsync(row, ct);
        var handle = await SfuCallAsync(() => client.AttachAsync(ct));
        if (screenPublishers.TryRemove((callId, me), out var old))
        {
            await DetachQuietlyAsync(client, old);
        }

        screenPublishers[(callId, me)] = handle;
        var (feed, answer) = await SfuCallAsync(() => client.PublishAsync(handle, sfuRow.SfuRoom!.Value, sfuRow.SfuSecret!, me.ToString("N") + ":screen", sdpOffer,
            sending.Any(m => m.Kind == "audio"), true, ct));
        CallDto dto;
        try
        {
            var withSound = sending.Any(m => m.Kind == "audio");
            dto = (await MutateIfAsync(callId, [me], s => RequireStillActivePageAsync(s, callId, me, page, ct), s =>
            {
                if (withSound && !s.MayPublish(me))
                {
                    throw new ChatException(ChatError.SpeakNotAllowed);
                }

                s.SetScreenFeed(me, feed);
                return true;
            }, ct))!;
        }
        catch (ChatException)
        {
            // Someone else started sharing meanwhile, the host took the permission back, or another page of mine took
            // the call: undo in Janus (unless something took the handle already).
            if (screenPublishers.TryRemove(KeyValuePair.Create((callId, me), handle)))
            {
                await DetachQuietlyAsync(client, handle);
            }

            throw;
        }

        await PushAsync(dto.ChatId, dto.CallId, c => c.CallStateChanged(dto));
        return answer;
    }

    /// <summary>
    /// An ICE restart of my screen share's connection (the network changed under it): the new offer goes to the same Janus
    /// handle, so the screen feed and everyone's subscriptions to it stay; returns Janus's answer.
    /// </summary>
    public async Task<string> RestartScreenIceAsync(Guid me, Guid callId, string sdpOffer, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct, CallAccess.Publish);
        var offer = Validate(sdpOffer, SdpPurpose.PublishOffer);
        var (state, _) = await LoadAsync(row, me, ct);
        var mine = Translate(() => state.RequirePresent(me));
        if (offer.Media.Any(m => !m.IsRejected && m.Kind == "audio" && m.Direction is MediaDirection.SendOnly or MediaDirection.SendRecv) && !state.MayPublish(me))
        {
            throw new ChatException(ChatError.SpeakNotAllowed);
        }

        // Not sharing any more (stopped by the host, or the permission taken back): nothing to restart.
        if (mine.ScreenFeedId is null || !screenPublishers.TryGetValue((callId, me), out var handle))
        {
            throw new ChatException(ChatError.FeedNotFound);
        }

        var (client, _) = await SfuAsync(row, ct);
        return await SfuCallAsync(() => client.RenegotiatePublisherAsync(handle, sdpOffer, ct));
    }

    /// <summary>Stops a screen share: the caller's own (<paramref name="accountId"/> null or the caller) or, for the host, anyone's.</summary>
    public async Task<CallDto> StopScreenShareAsync(Guid me, Guid callId, Guid? accountId, CancellationToken ct)
    {
        var target = accountId ?? me;
        long? stopped = null;
        var dto = await ChangeAsync(me, callId, s => stopped = s.StopScreen(me, target), ct, target);
        await StopScreenInSfuAsync(callId, target, stopped, ct);
        return dto;
    }

    /// <summary>The host lets a participant share the screen in a lesson, or takes it back (which stops a share under way).</summary>
    public async Task<CallDto> AllowToShareAsync(Guid me, Guid callId, Guid accountId, bool allowed, CancellationToken ct)
    {
        long? stopped = null;
        var dto = await ChangeAsync(me, callId, s => stopped = s.AllowToShare(me, accountId, allowed), ct, accountId);
        await StopScreenInSfuAsync(callId, accountId, stopped, ct);
        return dto;
    }

    /// <summary>The host makes someone a presenter of a broadcast (publishes camera, sound, screen) or a viewer again.</summary>
    public async Task<CallDto> SetPresenterAsync(Guid me, Guid callId, Guid accountId, bool presenter, CancellationToken ct)
    {
        (long? Camera, long? Screen) stopped = default;
        var dto = await ChangeAsync(me, callId, s => stopped = s.SetPresenter(me, accountId, presenter), ct, accountId);
        await StopScreenInSfuAsync(callId, accountId, stopped.Screen, ct);
        await StopCameraInSfuAsync(callId, accountId, stopped.Camera, ct);
        return dto;
    }

    /// <summary>
    /// Ends a camera feed in Janus whatever the publisher's browser does (a presenter made a viewer again, a member muted
    /// in the chat): kicked out of the room through the room secret, the handle detached when this node holds it.
    /// </summary>
    private async Task StopCameraInSfuAsync(Guid callId, Guid accountId, long? feed, CancellationToken ct)
    {
        await KickFeedAsync(callId, feed, ct);
        if (feed is not null && publishers.TryRemove((callId, accountId), out var handle) && janus.Enabled
            && await calls.GetAsync(callId, ct) is { SfuUrl: { } url })
        {
            try
            {
                await DetachQuietlyAsync(await janus.ClientAsync(url, ct), handle);
            }
            catch (Exception e) when (e is JanusException or ChatException)
            {
                LogSfu(logger, e, callId);
            }
        }
    }

    /// <summary>
    /// Ends a screen feed in Janus whatever the sharer's browser does: detaches the handle when this node holds it, and
    /// kicks the feed out of the room through the room secret (the handle may live on another node).
    /// </summary>
    private async Task StopScreenInSfuAsync(Guid callId, Guid accountId, long? feed, CancellationToken ct)
    {
        if (feed is null || !janus.Enabled)
        {
            return;
        }

        await KickFeedAsync(callId, feed, ct);
        if (screenPublishers.TryRemove((callId, accountId), out var handle)
            && await calls.GetAsync(callId, ct) is { SfuUrl: { } url })
        {
            try
            {
                await DetachQuietlyAsync(await janus.ClientAsync(url, ct), handle);
            }
            catch (Exception e) when (e is JanusException or ChatException)
            {
                LogSfu(logger, e, callId);
            }
        }
    }

    /// <summary>Removes one feed from the call's room through the room secret (its handle may live on another node).</summary>
    private async Task KickFeedAsync(Guid callId, long? feed, CancellationToken ct)
    {
        if (feed is null || !janus.Enabled)
        {
            return;
        }

        var row = await calls.GetAsync(callId, ct);
        if (row?.SfuUrl is null || row.SfuRoom is null)
        {
            return;
        }

        try
        {
            var client = await janus.ClientAsync(row.SfuUrl, ct);
            var admin = await AdminHandleAsync(client, row.SfuUrl, ct);
            await client.KickAsync(admin, row.SfuRoom.Value, row.SfuSecret!, feed.Value, ct);
        }
        catch (Exception e) when (e is JanusException or ChatException)
        {
            LogSfu(logger, e, callId);
        }
    }
}
