using System.Security.Claims;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Moderation;

public static class ModerationApi
{
    /// <summary>The most events one journal export holds (newest first).</summary>
    public const int MaxAuditExport = 100_000;

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
        school.MapGet("/audit.csv", async (
            Guid schoolId, string? tz, ClaimsPrincipal user, SchoolService s, ModerationService moderation, SchoolAccess access, CancellationToken ct) =>
        {
            // Access first, then the time zone (docs/api.md: nobody outside learns anything from a parameter).
            await access.AdminAsync(schoolId, user.AccountId(), ct);
            var csv = new CsvWriter(Csv.TimeZone(tz));

            // The details in Russian as the admin page writes them, with the school's class, chat and member names read
            // once; the stored JSON in the last column, for machines.
            var details = await AuditDetails.LoadAsync(schoolId, user.AccountId(), s, moderation, csv.Zone, ct);

            // The whole journal, newest first, read a page at a time (at most MaxAuditExport events: a journal that
            // long is read in the page, which pages on without end).
            csv.Row("№", csv.Zoned("Время"), "Кто", "Действие", "Подробности", "Кто (ID)", "Объект (ID)", "Код действия", "Данные (JSON)");
            long? before = null;
            for (var rows = 0; rows < MaxAuditExport;)
            {
                var events = await s.AuditAsync(schoolId, user.AccountId(), before, 500, ct);
                foreach (var e in events)
                {
                    csv.Row(e.Id, e.At, e.ActorName, AuditActions.Name(e.Action), details.Describe(e.Action, e.SubjectId, e.Details, e.SubjectName), e.ActorId, e.SubjectId, e.Action, e.Details);
                }

                rows += events.Count;
                if (events.Count < 500)
                {
                    break;
                }

                before = events[^1].Id;
            }

            return TypedResults.File(csv.ToFile(), "text/csv; charset=utf-8", "audit.csv");
        });
        return app;
    }
}
