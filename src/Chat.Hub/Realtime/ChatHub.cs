using Chat.Hub.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>What the server pushes to a connected client.</summary>
public interface IChatClient
{
    Task SessionEnded(string reason);
}

/// <summary>
/// The one real-time hub. Thin: it authorizes, validates and hands over to feature services; it keeps no state of
/// its own (the connection registry is per node and only used to cut connections off).
/// </summary>
[Authorize]
public sealed class ChatHub(ConnectionRegistry registry) : Hub<IChatClient>
{
    public override Task OnConnectedAsync()
    {
        registry.Add(Context, Context.User!.AccountId(), Context.User!.SessionId());
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        registry.Remove(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>Round trip check for clients measuring latency.</summary>
    public DateTimeOffset Ping() => DateTimeOffset.UtcNow;
}
