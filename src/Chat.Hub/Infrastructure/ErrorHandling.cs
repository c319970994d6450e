using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Chat.Hub.Infrastructure;

/// <summary>Maps every exception to RFC 7807 problem details with a stable <c>code</c>; nothing a user sends becomes a bare 500.</summary>
internal sealed partial class ChatExceptionHandler(ILogger<ChatExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        var (error, fields, detail) = Classify(exception);
        if (IsDiagnosedOutage(exception, error))
        {
            LogOutage(logger, context.Request.Method, RouteOf(context), error.Code);
        }
        else if (error.Status >= 500)
        {
            LogServerError(logger, exception, context.Request.Method, RouteOf(context));
        }

        await WriteProblemAsync(context, error, fields, detail);
        return true;
    }

    /// <summary>
    /// The request's route as its template (<c>/api/invites/{token}/accept</c>), not its path: a path can carry a secret
    /// (an invite token) that must never reach the logs.
    /// </summary>
    private static string RouteOf(HttpContext context) =>
        ((context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint()) as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";

    internal static (ChatError Error, IReadOnlyDictionary<string, string[]>? Fields, string? Detail) Classify(Exception exception) => exception switch
    {
        ChatException ce => (ce.Error, ce.FieldErrors, ce.Detail),
        BadHttpRequestException { StatusCode: 413 } => (new ChatError("payload_too_large", 413, "Слишком большой запрос."), null, null),
        BadHttpRequestException => (ChatError.BadRequest, null, "Тело запроса не удалось прочитать. Проверьте формат JSON."),
        System.Text.Json.JsonException => (ChatError.BadRequest, null, "Тело запроса не удалось прочитать. Проверьте формат JSON."),
        // Text PostgreSQL cannot store (NUL characters): the input's fault, whichever field forgot to check it.
        PostgresException { SqlState: "22021" or "22P05" } => (ChatError.BadRequest, null, "Текст содержит недопустимые символы."),
        NpgsqlException { IsTransient: true } => (ChatError.ServiceUnavailable, null, null),
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" } => (ChatError.ServiceUnavailable, null, null),
        TimeoutException => (ChatError.ServiceUnavailable, null, null),
        _ => (ChatError.Internal, null, null),
    };

    public static Task WriteProblemAsync(HttpContext context, ChatError error, IReadOnlyDictionary<string, string[]>? fields = null, string? detail = null)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        context.Response.StatusCode = error.Status;
        if (error.Status == 503)
        {
            context.Response.Headers.RetryAfter = "2";
        }

        var problem = new ChatProblem(
            Type: $"https://chat.school/errors/{error.Code}",
            Title: error.Message,
            Status: error.Status,
            Code: error.Code,
            Detail: detail,
            Errors: fields);
        return context.Response.WriteAsJsonAsync(problem, ChatJson.Options, "application/problem+json");
    }

    /// <summary>
    /// A dependency the code already recognised as down (the media server, the database: a <see cref="ChatException"/>
    /// answering 503) is logged as one warning line with its code, not as an error with a stack on every request.
    /// </summary>
    public static bool IsDiagnosedOutage(Exception exception, ChatError error) =>
        exception is ChatException && error.Status == StatusCodes.Status503ServiceUnavailable;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Route} answered {Code}: a dependency (media server, database) is unavailable")]
    private static partial void LogOutage(ILogger logger, string method, string route, string code);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} {Route}")]
    private static partial void LogServerError(ILogger logger, Exception exception, string method, string route);
}

/// <summary>The problem details body every error response carries.</summary>
public sealed record ChatProblem(string Type, string Title, int Status, string Code, string? Detail, IReadOnlyDictionary<string, string[]>? Errors);

internal static class ErrorHandlingExtensions
{
    public static IServiceCollection AddChatErrors(this IServiceCollection services)
    {
        services.AddExceptionHandler<ChatExceptionHandler>();
        services.AddProblemDetails();
        return services;
    }

    /// <summary>Status codes produced by the framework itself (401 from the auth middleware, 404 for unknown routes, 405) also get a body with a code.</summary>
    public static IApplicationBuilder UseChatStatusCodes(this IApplicationBuilder app) =>
        app.UseStatusCodePages(async ctx =>
        {
            var status = ctx.HttpContext.Response.StatusCode;
            var error = status switch
            {
                401 => ChatError.Unauthorized,
                403 => ChatError.Forbidden,
                404 => ChatError.NotFound,
                405 => new ChatError("method_not_allowed", 405, "Метод не поддерживается."),
                415 => new ChatError("unsupported_media_type", 415, "Неподдерживаемый тип содержимого. Отправляйте JSON."),
                _ => new ChatError("http_" + status, status, "Ошибка запроса."),
            };
            await ChatExceptionHandler.WriteProblemAsync(ctx.HttpContext, error);
        });
}
