using System.Collections.Concurrent;
using System.Diagnostics;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// The viewer count of a broadcast, pushed to the whole chat at most once a second per node. An assembly of a thousand
/// pupils opening the broadcast at nine o'clock would otherwise push the count to a thousand members a thousand times
/// (a million pushes in a minute). The first change after a quiet second goes out at once; the changes during the
/// next second make one push at its end, with the count read then (joins and leaves on every node included).
/// </summary>
public sealed partial class CallService
{
    /// <summary>At most one viewer-count push per broadcast and node this often.</summary>
    internal static readonly TimeSpan ViewerPushEvery = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<Guid, ViewerPush> viewerPushes = new();

    private Task ViewersChangedAsync(CallDto dto)
    {
        var entry = viewerPushes.GetOrAdd(dto.CallId, _ => new ViewerPush());
        TimeSpan wait;
        lock (entry)
        {
            if (entry.Scheduled)
            {
                return Task.CompletedTask; // the coming push reads the count then
            }

            var since = entry.LastAt == 0 ? ViewerPushEvery : Stopwatch.GetElapsedTime(entry.LastAt);
            if (since >= ViewerPushEvery)
            {
                entry.LastAt = Stopwatch.GetTimestamp();
                wait = TimeSpan.Zero;
            }
            else
            {
                entry.Scheduled = true;
                wait = ViewerPushEvery - since;
            }
        }

        if (wait == TimeSpan.Zero)
        {
            return PushAsync(dto.ChatId, dto.CallId, c => c.BroadcastViewers(dto.CallId, dto.ViewerCount));
        }

        _ = Task.Run(() => PushViewersLaterAsync(dto.ChatId, dto.CallId, entry, wait));
        return Task.CompletedTask;
    }

    private async Task PushViewersLaterAsync(Guid chatId, Guid callId, ViewerPush entry, TimeSpan wait)
    {
        try
        {
            await Task.Delay(wait);
            lock (entry)
            {
                entry.Scheduled = false;
                entry.LastAt = Stopwatch.GetTimestamp();
            }

            var row = await calls.GetAsync(callId, CancellationToken.None);
            if (row is null || row.EndedAt is not null)
            {
                viewerPushes.TryRemove(callId, out _); // ended meanwhile: CallEnded said all there is
                return;
            }

            var (state, _) = await LoadAsync(row, me: null, CancellationToken.None);
            await PushAsync(chatId, callId, c => c.BroadcastViewers(callId, state.ViewerCount));
        }
        catch (Exception e)
        {
            // The database is away: the next join or leave pushes the count again.
            LogSfu(logger, e, callId);
        }
    }

    private sealed class ViewerPush
    {
        /// <summary>When the last push went out (<see cref="Stopwatch"/> ticks; 0: never).</summary>
        public long LastAt { get; set; }

        /// <summary>A push at the end of the current second is coming.</summary>
        public bool Scheduled { get; set; }
    }
}
