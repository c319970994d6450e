using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Chat.Hub.Tests.Realtime;

/// <summary>
/// The hub filter on its own: a call cancelled because its connection closed is not an error; the same exception on
/// a live connection is (a bug, logged, answered with internal_error). A real closed connection cannot be timed to
/// land inside a call, so the filter is driven directly here.
/// </summary>
public sealed class ChatHubFilterTests
{
    private readonly TestLogSink logs = new();

    [Theory]
    [InlineData("plain")]
    [InlineData("npgsql")]
    public async Task CallCancelledBecauseTheConnectionClosed_NotLoggedAsError_RequestCancelled(string shape)
    {
        var (filter, invocation) = Invocation(connectionClosed: true);
        Exception thrown = shape == "plain"
            ? new OperationCanceledException()
            : new NpgsqlException("Exception while reading from stream", new OperationCanceledException());

        var error = await Assert.ThrowsAsync<HubException>(() => filter.InvokeMethodAsync(invocation, _ => throw thrown).AsTask());

        Assert.StartsWith($"{ChatError.Cancelled.Code}: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Warning ", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.StartsWith("Debug ", StringComparison.Ordinal) && l.Contains("GetChats was cancelled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CancellationOnALiveConnection_IsStillAnError()
    {
        var (filter, invocation) = Invocation(connectionClosed: false);

        var error = await Assert.ThrowsAsync<HubException>(() => filter.InvokeMethodAsync(invocation, _ => throw new OperationCanceledException()).AsTask());

        Assert.StartsWith($"{ChatError.Internal.Code}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("GetChats failed", StringComparison.Ordinal));
    }

    private (ChatHubFilter Filter, HubInvocationContext Invocation) Invocation(bool connectionClosed)
    {
        var limits = new HubLimits(Microsoft.Extensions.Options.Options.Create(new LimitOptions()), TimeProvider.System);
        var filter = new ChatHubFilter(limits, new LoggerFactory([logs]).CreateLogger<ChatHubFilter>());
        var context = new ClosedOrOpenContext(connectionClosed);
        var invocation = new HubInvocationContext(context, new ServiceCollection().BuildServiceProvider(), new SomeHub(), typeof(SomeHub).GetMethod(nameof(SomeHub.GetChats))!, []);
        return (filter, invocation);
    }

    private sealed class SomeHub : Microsoft.AspNetCore.SignalR.Hub
    {
        public static Task GetChats() => Task.CompletedTask;
    }

    private sealed class ClosedOrOpenContext : HubCallerContext
    {
        private readonly CancellationTokenSource aborted = new();

        public ClosedOrOpenContext(bool closed)
        {
            if (closed)
            {
                aborted.Cancel();
            }
        }

        public override string ConnectionId => "test-connection";

        public override string? UserIdentifier => null;

        public override System.Security.Claims.ClaimsPrincipal? User => null;

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public override CancellationToken ConnectionAborted => aborted.Token;

        public override void Abort() => aborted.Cancel();
    }
}
