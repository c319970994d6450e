namespace Chat.Hub.Realtime;

/// <summary>
/// Told when people lose the right to act in chats — they left or were removed (a membership change), or a moderator
/// blocked them — or to write there (muted), after the change is stored; e.g. calls take them out of a live call of the chat.
/// </summary>
public interface IChatAccessWatcher
{
    /// <summary>Must not throw for one pair's trouble: the change is stored already and its request has succeeded.</summary>
    Task AccessLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> lost, CancellationToken ct);

    /// <summary>
    /// People a moderator muted in chats: they may still read and attend, but no longer write — nor speak or show
    /// anything in the chat's call. Must not throw, as above.
    /// </summary>
    Task PublishingLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> muted, CancellationToken ct);
}
