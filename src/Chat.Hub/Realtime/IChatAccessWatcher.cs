namespace Chat.Hub.Realtime;

/// <summary>
/// Told when people lose the right to act in chats — they left or were removed (a membership change), or a moderator
/// blocked them — after the change is stored; e.g. calls take them out of a live call of the chat.
/// </summary>
public interface IChatAccessWatcher
{
    /// <summary>Must not throw for one pair's trouble: the change is stored already and its request has succeeded.</summary>
    Task AccessLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> lost, CancellationToken ct);
}
