using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using Chat.Hub.Infrastructure;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>
/// Turns every failure of a hub method into a <see cref="HubException"/> whose message is <c>code: Russian message</c>;
/// the client sees nothing else (unexpected errors are logged, never shown). It also runs a connection's calls one at a
/// time, in the order they came, except <see cref="PipelinedAttribute">pipelined</see> ones.
/// </summary>
public sealed partial class ChatHubFilter(HubLimits limits, ILogger<ChatHubFilter> logger) : IHubFilter
{
    /// <summary>
    /// How many calls of one connection SignalR runs at once (its <c>MaximumParallelInvocationsPerClient</c>). Only
    /// pipelined calls use more than one: every other call waits for the connection's earlier ones (<see cref="Gates"/>).
    /// </summary>
    public const int MaxCallsInFlightPerConnection = 8;

    /// <summary>Per hub method, read once: its parameters that must not be null, the rate it draws on (<see cref="LimitedAttribute"/>), and whether it is pipelined.</summary>
    private static readonly ConcurrentDictionary<MethodInfo, ((int Index, string Name)[] Required, HubLimit? Limit, bool Pipelined)> Methods = new();

    /// <summary>
    /// Per connection, the turn of its calls that are not pipelined: one at a time, in the order SignalR read them
    /// (SemaphoreSlim hands itself to its waiters first in, first out). Gone with the connection.
    /// </summary>
    private static readonly ConditionalWeakTable<HubCallerContext, SemaphoreSlim> Gates = new();

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        SemaphoreSlim? gate = null;
        try
        {
            var method = Methods.GetOrAdd(invocationContext.HubMethod, Describe);
            RejectMissingArguments(invocationContext, method.Required);
            if (method.Limit is { } limit)
            {
                limits.Check(limit, invocationContext.Context.User!.AccountId());
            }

            if (!method.Pipelined)
            {
                var turn = Gates.GetValue(invocationContext.Context, static _ => new SemaphoreSlim(1, 1));
                await turn.WaitAsync(invocationContext.Context.ConnectionAborted);
                gate = turn;
            }

            return await next(invocationContext);
        }
        catch (HubException)
        {
            throw;
        }
        catch (Exception e) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested && IsCancellation(e))
        {
            // The client went away mid-call (closed the app, lost the network): nothing failed, nobody is left to answer.
            LogHubCallAbandoned(logger, invocationContext.HubMethodName);
            throw new HubException($"{ChatError.Cancelled.Code}: {ChatError.Cancelled.Message}");
        }
        catch (Exception e)
        {
            var (error, fields, detail) = ChatExceptionHandler.Classify(e);
            if (ChatExceptionHandler.IsDiagnosedOutage(e, error))
            {
                LogHubUnavailable(logger, invocationContext.HubMethodName, error.Code);
            }
            else if (error.Status >= 500)
            {
                LogHubError(logger, e, invocationContext.HubMethodName);
            }

            var field = fields?.FirstOrDefault();
            var message = field is { } f ? $"{f.Value.FirstOrDefault()} ({f.Key})" : detail ?? error.Message;
            throw new HubException($"{error.Code}: {message}");
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>
    /// JSON null for a parameter the hub method declares non-nullable (a request record, an id list) would otherwise
    /// surface as a NullReferenceException deep in a service, that is, as an internal error.
    /// </summary>
    private static void RejectMissingArguments(HubInvocationContext invocation, (int Index, string Name)[] required)
    {
        foreach (var (index, name) in required)
        {
            if (index < invocation.HubMethodArguments.Count && invocation.HubMethodArguments[index] is null)
            {
                throw ChatException.Field(name, "Передайте значение: оно обязательно.");
            }
        }
    }

    private static ((int Index, string Name)[] Required, HubLimit? Limit, bool Pipelined) Describe(MethodInfo method)
    {
        var nullability = new NullabilityInfoContext();
        var required = method.GetParameters()
            .Where(p => !p.ParameterType.IsValueType && nullability.Create(p).WriteState == NullabilityState.NotNull)
            .Select(p => (p.Position, p.Name ?? ""))
            .ToArray();
        return (required, method.GetCustomAttribute<LimitedAttribute>()?.Limit, method.IsDefined(typeof(PipelinedAttribute)));
    }

    /// <summary>Cancellation, as such or wrapped by a driver (Npgsql reports a cancelled command inside its own exception).</summary>
    private static bool IsCancellation(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is OperationCanceledException)
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hub method {Method} was cancelled: its connection closed")]
    private static partial void LogHubCallAbandoned(ILogger logger, string method);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hub method {Method} answered {Code}: a dependency (media server, database) is unavailable")]
    private static partial void LogHubUnavailable(ILogger logger, string method, string code);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hub method {Method} failed")]
    private static partial void LogHubError(ILogger logger, Exception exception, string method);
}

/// <summary>
/// A hub method that does not wait for the connection's earlier calls to finish (ChatHubFilter runs every other one in
/// turn). Only for a method whose work is ordered before its first real wait: <c>SendMessage</c> is in the node's batch
/// queue before SignalR reads the connection's next call, so a client that sends without waiting for each answer gets
/// its messages stored in the order sent, while the second no longer waits for the first's commit and push.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PipelinedAttribute : Attribute;
