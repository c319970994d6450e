using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Realtime;

/// <summary>
/// Drops a hub connection whose client stopped reading. SignalR bounds the bytes it keeps for a connection
/// (<c>TransportMaxBufferSize</c>); once that buffer and the socket's are full, a write to the connection waits. Without
/// a bound on that wait (a client that reads nothing but still sends pings is never timed out by SignalR), everything
/// behind it waits too and piles up: the messages queued for that connection, and every group send that awaits all
/// members' writes (on a single node, the sender's own call). So a write that cannot move for
/// <c>Limits:SlowClientSeconds</c> closes that one connection; its client reconnects and catches up by seq, as after any
/// other drop.
/// </summary>
public static partial class SlowClientGuard
{
    /// <summary>Puts the guard between the hub and the connection's transport.</summary>
    public static IConnectionBuilder UseSlowClientGuard(this IConnectionBuilder builder)
    {
        var options = builder.ApplicationServices.GetRequiredService<IOptions<LimitOptions>>().Value;
        var logger = builder.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SlowClientGuard));
        var stall = TimeSpan.FromSeconds(Math.Max(1, options.SlowClientSeconds));
        return builder.Use(next => connection =>
        {
            var transport = connection.Transport;
            connection.Transport = new GuardedPipe(transport.Input, new GuardedWriter(transport.Output, stall, () =>
            {
                LogDropped(logger, connection.ConnectionId, (int)stall.TotalSeconds);
                connection.Abort(new ConnectionAbortedException("The client reads nothing: its send buffer stayed full."));
            }));
            return next(connection);
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped hub connection {ConnectionId}: its client read nothing for {Seconds} s while its send buffer was full")]
    private static partial void LogDropped(ILogger logger, string connectionId, int seconds);

    private sealed class GuardedPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Passes everything through; only a flush that stays pending longer than the stall limit trips the guard.</summary>
    private sealed class GuardedWriter(PipeWriter inner, TimeSpan stall, Action onStall) : PipeWriter
    {
        private int tripped;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            var flush = inner.FlushAsync(cancellationToken);
            return flush.IsCompleted ? flush : WatchAsync(flush.AsTask());
        }

        /// <summary>
        /// SignalR writes every hub message with this. The base class would call GetSpan, Advance and FlushAsync, each
        /// taking the pipe's lock (which the transport's reader contends for); the pipe's own WriteAsync takes it once.
        /// </summary>
        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            var write = inner.WriteAsync(source, cancellationToken);
            return write.IsCompleted ? write : WatchAsync(write.AsTask());
        }

        private async ValueTask<FlushResult> WatchAsync(Task<FlushResult> flush)
        {
            using var timer = new CancellationTokenSource();
            var first = await Task.WhenAny(flush, Task.Delay(stall, timer.Token));
            timer.Cancel();
            if (first != flush && Interlocked.Exchange(ref tripped, 1) == 0)
            {
                onStall();
            }

            return await flush;
        }
    }
}
