using System.Collections.Concurrent;
using System.Diagnostics;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// The viewer count of a broadcast, pushed to the whole chat at most once a second per node. An assembly of a thousand
/// pupils opening the broadcast at nine o'clock would otherwise push the count to a thousand members a thousand times
/// (a million pushes in a minute). The first change after a quiet second goes out at once; at the end of the next
/// second the count is read again and pushed if it differs (the changes of that second, on every node). The count
/// pushed at once may miss a join committed beside it (a broadcast's joins run side by side under a share lock, each
/// counting the others it sees), so that second read comes even when nothing else changed here.
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
        bool now;
        lock (entry)
        {
            if (entry.Scheduled)
            {
                return Task.CompletedTask; // the coming read pushes the count then
            }

            var since = entry.LastAt == 0 ? ViewerPushEvery : Stopwatch.GetElapsedTime(entry.LastAt);
            now = since >= ViewerPushEvery;
            wait = now ? ViewerPushEvery : ViewerPushEvery - since;
            entry.Scheduled = true;
            if (now)
            {
                entry.LastAt = Stopwatch.GetTimestamp();
                entry.Pushed = dto.ViewerCount;
            }
        }

        _ = Task.Run(() => PushViewersLaterAsync(dto.ChatId, dto.CallId, entry, wait));
        return now ? PushAsync(dto.ChatId, dto.CallId, c => c.BroadcastViewers(dto.CallId, dto.ViewerCount)) : Task.CompletedTask;
    }

    private async Task PushViewersLaterAsync(Guid chatId, Guid callId, ViewerPush entry, TimeSpan wait)
    {
        try
        {
            await Task.Delay(wait);
            lock (entry)
            {
                entry.Scheduled = false;
            }

            var row = await calls.GetAsync(callId, CancellationToken.None);
            if (row is null || row.EndedAt is not null)
            {
                viewerPushes.TryRemove(callId, out _); // ended meanwhile: CallEnded said all there is
                return;
            }

            var (state, _) = await LoadAsync(row, me: null, CancellationToken.None);
            lock (entry)
            {
                if (state.ViewerCount == entry.Pushed)
                {
                    return; // nothing new since the last push from here
                }

                entry.LastAt = Stopwatch.GetTimestamp();
                entry.Pushed = state.ViewerCount;
            }

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

        /// <summary>A read (and push, if the count differs) at the end of the current second is coming.</summary>
        public bool Scheduled { get; set; }

        /// <summary>The count last pushed from this node (-1: none yet).</summary>
        public int Pushed { get; set; } = -1;
    }
}
