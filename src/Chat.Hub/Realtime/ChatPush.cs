using Chat.Hub.Features.Chats;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>
/// Pushes committed changes to chat groups. A push is best effort: when the backplane (Redis) is down the message is
/// already stored and clients recover it by seq, so a failed push is logged and never fails the sender's call.
/// </summary>
public sealed partial class ChatPush(IHubContext<ChatHub, IChatClient> hub, ILogger<ChatPush> logger)
{
    public Task MessageAsync(MessageDto message) =>
        TryAsync(() => hub.Clients.Group(LiveConnections.ChatGroup(message.ChatId)).MessageReceived(message), message.ChatId);

    /// <summary>New messages of one chat, in seq order: one push when there is one, else one <c>MessagesReceived</c>.</summary>
    public Task MessagesAsync(Guid chatId, MessageDto[] messages) => messages.Length == 1
        ? MessageAsync(messages[0])
        : TryAsync(() => hub.Clients.Group(LiveConnections.ChatGroup(chatId)).MessagesReceived(messages), chatId);

    /// <summary>The chat has events up to <paramref name="seq"/> (IChatClient.ChatAdvanced).</summary>
    public Task AdvancedAsync(Guid chatId, long seq) =>
        TryAsync(() => hub.Clients.Group(LiveConnections.ChatGroup(chatId)).ChatAdvanced(chatId, seq), chatId);

    public Task ChangeAsync(ChatEventDto change) =>
        TryAsync(() => hub.Clients.Group(LiveConnections.ChatGroup(change.ChatId)).MessageChanged(change), change.ChatId);

    /// <summary>A channel reader's own reactions on a message, to all her devices (IChatClient.MyReactions).</summary>
    public Task MyReactionsAsync(Guid accountId, MessageDto message) =>
        TryAsync(() => hub.Clients.User(accountId.ToString()).MyReactions(message), message.ChatId);

    public Task ReadPositionAsync(ReadPositionDto position, bool wholeChat) =>
        TryAsync(() => wholeChat
            ? hub.Clients.Group(LiveConnections.ChatGroup(position.ChatId)).ReadPosition(position)
            : hub.Clients.User(position.AccountId.ToString()).ReadPosition(position), position.ChatId);

    /// <summary>Tells the restricted member (all their devices) that they were blocked, muted or released.</summary>
    public Task RestrictionAsync(Features.Moderation.RestrictionDto restriction) =>
        TryAsync(() => hub.Clients.User(restriction.AccountId.ToString()).RestrictionChanged(restriction), restriction.ChatId);

    /// <summary>
    /// My role in a chat changed (a teacher allowed to post in a channel): all my devices read their chat list again
    /// (<c>ChatMembershipChanged(chatId, true)</c>), so the open chat gets its input box at once.
    /// </summary>
    public Task RoleChangedAsync(Guid chatId, Guid accountId) =>
        TryAsync(() => hub.Clients.User(accountId.ToString()).ChatMembershipChanged(chatId, true), chatId);

    /// <summary>A chat was renamed, got another avatar, or was archived or restored: its members' lists and open chat follow.</summary>
    public Task ChatUpdatedAsync(ChatUpdatedDto chat) =>
        TryAsync(() => hub.Clients.Group(LiveConnections.ChatGroup(chat.ChatId)).ChatUpdated(chat), chat.ChatId);

    public Task TypingAsync(TypingDto typing, string exceptConnectionId) =>
        TryAsync(() => hub.Clients.GroupExcept(LiveConnections.ChatGroup(typing.ChatId), exceptConnectionId).Typing(typing), typing.ChatId);

    private async Task TryAsync(Func<Task> push, Guid chatId)
    {
        try
        {
            await push();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPushFailed(logger, e, chatId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live push to chat {ChatId} failed; clients will catch up by seq")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, Guid chatId);
}
