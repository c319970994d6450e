using System.Globalization;
using System.Security.Claims;
using System.Text;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Moderation;

public static class ModerationApi
{
    public static IEndpointRouteBuilder MapModerationApi(this IEndpointRouteBuilder app)
    {
        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("Moderation").RequireAuthorization();
        school.MapGet("/rules", (Guid schoolId, ClaimsPrincipal user, ModerationService s, CancellationToken ct) => s.RulesAsync(schoolId, user.AccountId(), ct));
        school.MapPut("/rules", (Guid schoolId, PutRuleBody body, ClaimsPrincipal user, ModerationService s, CancellationToken ct) => s.PutRuleAsync(schoolId, user.AccountId(), body, ct));
        school.MapDelete("/rules/{ruleId:guid}", async (Guid schoolId, Guid ruleId, ClaimsPrincipal user, ModerationService s, CancellationToken ct) =>
        {
            await s.ArchiveRuleAsync(schoolId, ruleId, user.AccountId(), ct);
            return TypedResults.NoContent();
        });
        school.MapGet("/chats", (Guid schoolId, ClaimsPrincipal user, ModerationService s, CancellationToken ct) => s.SchoolChatsAsync(user.AccountId(), schoolId, ct));
        school.MapPost("/chats/{chatId:guid}/moderation-cases", (Guid schoolId, Guid chatId, OpenCaseBody body, ClaimsPrincipal user, ModerationService s, CancellationToken ct) =>
            s.OpenCaseAsync(user.AccountId(), schoolId, chatId, body.Reason, ct));
        school.MapGet("/audit.csv", async (Guid schoolId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
        {
            var events = await s.AuditAsync(schoolId, user.AccountId(), null, 500, ct);
            var csv = new StringBuilder("id,at,actor_id,actor_name,action,subject_id,details\n");
            foreach (var e in events)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{e.Id},{e.At:O},{e.ActorId},{Csv.Field(e.ActorName)},{e.Action},{e.SubjectId},{Csv.Field(e.Details)}\n");
            }

            return TypedResults.File(Csv.File(csv), "text/csv; charset=utf-8", "audit.csv");
        });
        return app;
    }
}
