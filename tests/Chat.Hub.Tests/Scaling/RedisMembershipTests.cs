using System.Security.Claims;
using Chat.Hub.Features.Chats;
using Chat.Hub.Realtime;
using Chat.Hub.Tests.Infrastructure;
using Chat.Storage.Chats;
using Chat.Testing;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Scaling;

/// <summary>One node in-process with a real private Redis behind SignalR (the scale-out setup, one node of it).</summary>
public sealed class RedisApp : ChatApp
{
    public RedisServer Redis { get; private set; } = null!;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["ConnectionStrings:Redis"] = Redis.ConnectionString };

    public override async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>Membership changes applied to a node's connections over the Redis scale-out.</summary>
public sealed class RedisMembershipTests(RedisApp app) : IClassFixture<RedisApp>
{
    /// <summary>
    /// A membership change meets a connection that closed after its person's connections were read: stock, SignalR sends
    /// the group change for it to the other nodes and waits 30 s for an answer no node gives, then throws — and the rest
    /// of the change (the classmate added with him) was never applied. Now a connection that is not on the node is
    /// skipped, and the others follow at once.
    /// </summary>
    [Fact]
    public async Task ChangeMeetsAConnectionThatJustClosed_TheOthersFollowAtOnce()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var circle = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat", new CreateChatRequest(room.School.Id, "group", "Кружок робототехники", null, null, []));
        var registry = app.Services.GetRequiredService<ConnectionRegistry>();
        var ghost = new ClosedConnection("closed-" + Guid.NewGuid().ToString("N"));
        registry.Add(ghost, room.Petya.AccountId, Guid.NewGuid());
        try
        {
            await app.Services.GetRequiredService<LiveConnections>()
                .ApplyMembershipAsync([new MembershipChange(circle.Id, room.Petya.AccountId, true), new MembershipChange(circle.Id, room.Masha.AccountId, true)])
                .WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            registry.Remove(room.Petya.AccountId, ghost.ConnectionId);
        }

        await HubClient.EventuallyAsync(() => masha.Memberships.Contains((circle.Id, true)), "Masha told she is in the circle");
        await teacher.SendAsync(circle.Id, "Занятие в среду в 15:00");
        await HubClient.EventuallyAsync(() => masha.Received.Any(m => m.ChatId == circle.Id), "the circle's message pushed to Masha");
    }

    /// <summary>A connection this node no longer has: registered, but SignalR knows nothing of it.</summary>
    private sealed class ClosedConnection(string connectionId) : HubCallerContext
    {
        public override string ConnectionId { get; } = connectionId;

        public override string? UserIdentifier => null;

        public override ClaimsPrincipal? User => null;

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override CancellationToken ConnectionAborted => CancellationToken.None;

        public override void Abort()
        {
        }
    }
}
