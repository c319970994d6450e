using System.Security.Claims;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Invites;

public static class InvitesApi
{
    public static IEndpointRouteBuilder MapInvitesApi(this IEndpointRouteBuilder app)
    {
        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("Invites").RequireAuthorization();
        school.MapPost("/invites", async (Guid schoolId, CreateInviteBody body, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
        {
            var invite = await s.CreateAsync(schoolId, user.AccountId(), body, ct);
            return TypedResults.Created($"/api/schools/{schoolId}/invites/{invite.Id}", invite);
        });
        school.MapGet("/invites", (Guid schoolId, Guid? classId, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            s.ListAsync(schoolId, user.AccountId(), classId, ct));
        school.MapDelete("/invites/{inviteId:guid}", (Guid schoolId, Guid inviteId, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            s.RevokeAsync(schoolId, inviteId, user.AccountId(), ct));
        school.MapPost("/invites/revoke-unused", async (Guid schoolId, RevokeUnusedBody body, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            TypedResults.Ok(new { revoked = await s.RevokeUnusedAsync(schoolId, user.AccountId(), body.ClassId, ct) }));
        school.MapGet("/invites/{inviteId:guid}/qr", async (Guid schoolId, Guid inviteId, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            TypedResults.File(await s.QrCodeAsync(schoolId, inviteId, user.AccountId(), ct), "image/png"));

        school.MapGet("/join-requests", (Guid schoolId, string? status, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            s.ListRequestsAsync(schoolId, user.AccountId(), status, ct));
        school.MapPost("/join-requests/{requestId:guid}/approve", (Guid schoolId, Guid requestId, DecideJoinRequestBody body, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            s.DecideAsync(schoolId, requestId, user.AccountId(), true, body, ct));
        school.MapPost("/join-requests/{requestId:guid}/reject", (Guid schoolId, Guid requestId, DecideJoinRequestBody body, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            s.DecideAsync(schoolId, requestId, user.AccountId(), false, body, ct));

        var byToken = app.MapGroup("/api/invites/{token}").WithTags("Invites").RequireAuthorization();
        byToken.MapGet("/", (string token, ClaimsPrincipal user, InviteService s, CancellationToken ct) => s.PreviewAsync(token, user.AccountId(), ct));
        byToken.MapPost("/accept", (string token, AcceptInviteBody body, ClaimsPrincipal user, InviteService s, CancellationToken ct) =>
            s.AcceptAsync(token, user.AccountId(), body, ct));
        return app;
    }
}
