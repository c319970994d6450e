using System.Collections.Concurrent;
using Chat.Hub.Features.Chats;
using Chat.Hub.Realtime;
using Chat.Storage.Messages;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Polls;

/// <summary>
/// Pushes <c>PollUpdated</c> to the poll's chat. Votes are coalesced per poll (at most one push per window on a node), and
/// each push reads the state from the database, so it carries every vote committed before it. Like every push it is best
/// effort: a client that missed one reads the poll again (GetPoll, history).
/// </summary>
public sealed partial class PollPush(
    IHubContext<ChatHub, IChatClient> hub,
    MessageStore messages,
    IOptions<PollOptions> options,
    ILogger<PollPush> logger)
{
    private readonly ConcurrentDictionary<(Guid ChatId, long Seq), byte> pending = new();

    /// <summary>Pushes the poll's state soon; calls within the coalescing window share one push.</summary>
    public void Schedule(Guid chatId, long seq)
    {
        if (!pending.TryAdd((chatId, seq), 0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(Math.Max(0, options.Value.PushCoalesceMilliseconds));
            }
            finally
            {
                // Cleared before reading the state: a vote committed after this read schedules a push of its own.
                pending.TryRemove((chatId, seq), out _);
            }

            await PushNowAsync(chatId, seq, CancellationToken.None);
        });
    }

    public async Task PushNowAsync(Guid chatId, long seq, CancellationToken ct)
    {
        try
        {
            var row = await messages.GetAsync(chatId, seq, ct);
            if (row is null)
            {
                return;
            }

            var poll = MessageDto.From(row).Poll;
            if (poll is not null)
            {
                await hub.Clients.Group(LiveConnections.ChatGroup(chatId)).PollUpdated(new PollUpdateDto(chatId, seq, poll));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPushFailed(logger, e, chatId, seq);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poll update push for {ChatId}/{Seq} failed; clients read the poll again")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, Guid chatId, long seq);
}
