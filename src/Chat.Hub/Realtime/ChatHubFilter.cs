using Chat.Hub.Infrastructure;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>
/// Turns every failure of a hub method into a <see cref="HubException"/> whose message is <c>code: Russian message</c>;
/// the client sees nothing else (unexpected errors are logged, never shown).
/// </summary>
public sealed partial class ChatHubFilter(ILogger<ChatHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (HubException)
        {
            throw;
        }
        catch (Exception e)
        {
            var (error, fields, detail) = ChatExceptionHandler.Classify(e);
            if (error.Status >= 500)
            {
                LogHubError(logger, e, invocationContext.HubMethodName);
            }

            var field = fields?.FirstOrDefault();
            var message = field is { } f ? $"{f.Value.FirstOrDefault()} ({f.Key})" : detail ?? error.Message;
            throw new HubException($"{error.Code}: {message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Hub method {Method} failed")]
    private static partial void LogHubError(ILogger logger, Exception exception, string method);
}
