using System.Security.Claims;
using Chat.Hub.Features.Messages;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Chats;

public sealed record SendBody(Guid ClientId, string? Text, long? ReplyToSeq, Guid[]? Mentions);

public sealed record ReadBody(long Seq);

public sealed record DirectChatBody(Guid AccountId);

/// <summary>The HTTP side of chats: the same services as the hub, for clients that read history or send over plain HTTP.</summary>
public static class ChatsApi
{
    public static IEndpointRouteBuilder MapChatsApi(this IEndpointRouteBuilder app)
    {
        var chats = app.MapGroup("/api/chats").WithTags("Chats").RequireAuthorization();
        chats.MapGet("/", (Guid? schoolId, ClaimsPrincipal user, ChatService s, CancellationToken ct) => s.ListMineAsync(user.AccountId(), schoolId, ct));
        chats.MapGet("/{chatId:guid}", (Guid chatId, ClaimsPrincipal user, ChatService s, CancellationToken ct) => s.GetAsync(chatId, user.AccountId(), ct));
        chats.MapGet("/{chatId:guid}/members", (Guid chatId, ClaimsPrincipal user, ChatService s, CancellationToken ct) => s.MembersAsync(chatId, user.AccountId(), ct));
        chats.MapGet("/{chatId:guid}/messages", (Guid chatId, long? before, int? limit, ClaimsPrincipal user, MessageService s, CancellationToken ct) =>
            s.HistoryAsync(user.AccountId(), chatId, before, limit, ct));
        chats.MapGet("/{chatId:guid}/updates", (Guid chatId, long? after, int? limit, ClaimsPrincipal user, MessageService s, CancellationToken ct) =>
            s.UpdatesAsync(user.AccountId(), chatId, after ?? 0, limit, ct));
        chats.MapPost("/{chatId:guid}/messages", (Guid chatId, SendBody body, ClaimsPrincipal user, MessageService s, Realtime.HubLimits limits, CancellationToken ct) =>
        {
            limits.CheckSend(user.AccountId());
            return s.SendAsync(user.AccountId(), new SendMessageRequest(chatId, body.ClientId, body.Text, body.ReplyToSeq, body.Mentions), ct);
        });
        chats.MapPost("/{chatId:guid}/read", async (Guid chatId, ReadBody body, ClaimsPrincipal user, MessageService s, CancellationToken ct) =>
            TypedResults.Ok(new { seq = await s.MarkReadAsync(user.AccountId(), chatId, body.Seq, ct) }));

        chats.MapPost("/{chatId:guid}/invites", (Guid chatId, Invites.CreateChatInviteBody body, ClaimsPrincipal user, ChatInviteService s, CancellationToken ct) =>
            s.CreateAsync(chatId, user.AccountId(), body, ct));
        chats.MapGet("/{chatId:guid}/invites", (Guid chatId, ClaimsPrincipal user, ChatInviteService s, CancellationToken ct) =>
            s.ListAsync(chatId, user.AccountId(), ct));
        chats.MapDelete("/{chatId:guid}/invites/{inviteId:guid}", (Guid chatId, Guid inviteId, ClaimsPrincipal user, ChatInviteService s, CancellationToken ct) =>
            s.RevokeAsync(chatId, inviteId, user.AccountId(), ct));
        chats.MapGet("/{chatId:guid}/invites/{inviteId:guid}/qr", async (Guid chatId, Guid inviteId, ClaimsPrincipal user, ChatInviteService s, CancellationToken ct) =>
            TypedResults.File(await s.QrCodeAsync(chatId, inviteId, user.AccountId(), ct), "image/png"));

        chats.MapGet("/{chatId:guid}/calls", (Guid chatId, int? limit, ClaimsPrincipal user, Calls.CallService s, CancellationToken ct) =>
            s.ChatCallsAsync(user.AccountId(), chatId, limit, ct));
        chats.MapGet("/{chatId:guid}/calls/{callId:guid}/attendance", (Guid chatId, Guid callId, ClaimsPrincipal user, Calls.CallService s, CancellationToken ct) =>
            s.AttendanceAsync(user.AccountId(), callId, chatId, ct));
        chats.MapGet("/{chatId:guid}/calls/{callId:guid}/attendance.csv", async (Guid chatId, Guid callId, string? tz, ClaimsPrincipal user, Calls.CallService s, CancellationToken ct) =>
        {
            var (csv, name) = await s.AttendanceCsvAsync(user.AccountId(), callId, chatId, tz, ct);
            return TypedResults.File(csv, "text/csv; charset=utf-8", name);
        });

        app.MapGet("/api/search", (string? q, Guid? schoolId, ClaimsPrincipal user, MessageService s, CancellationToken ct) =>
            s.SearchAsync(user.AccountId(), schoolId, q, ct)).WithTags("Chats").RequireAuthorization();

        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("Chats").RequireAuthorization();
        school.MapPost("/chats", async (Guid schoolId, CreateChatRequest body, ClaimsPrincipal user, ChatService s, CancellationToken ct) =>
            TypedResults.Ok(await s.CreateAsync(user.AccountId(), body with { SchoolId = schoolId }, ct)));
        school.MapPost("/direct-chats", (Guid schoolId, DirectChatBody body, ClaimsPrincipal user, ChatService s, CancellationToken ct) =>
            s.OpenDirectAsync(schoolId, user.AccountId(), body.AccountId, ct));
        return app;
    }
}
