using System.Security.Claims;
using Chat.Hub.Features.Statistics;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Lifecycle;

public static class LifecycleApi
{
    public static IEndpointRouteBuilder MapLifecycleApi(this IEndpointRouteBuilder app)
    {
        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("School year").RequireAuthorization();
        school.MapPut("/students/{accountId:guid}/class", async (Guid schoolId, Guid accountId, MoveStudentBody body, ClaimsPrincipal user, LifecycleService s, CancellationToken ct) =>
        {
            await s.MoveStudentAsync(schoolId, accountId, user.AccountId(), body, ct);
            return TypedResults.NoContent();
        });
        school.MapPost("/students/{accountId:guid}/leave", async (Guid schoolId, Guid accountId, LeaveBody body, ClaimsPrincipal user, LifecycleService s, CancellationToken ct) =>
        {
            await s.RemoveStudentAsync(schoolId, accountId, user.AccountId(), body, ct);
            return TypedResults.NoContent();
        });
        school.MapPost("/students/{accountId:guid}/parents/{parentId:guid}/unlink", async (Guid schoolId, Guid accountId, Guid parentId, LeaveBody body, ClaimsPrincipal user, LifecycleService s, CancellationToken ct) =>
        {
            await s.UnlinkParentAsync(schoolId, accountId, parentId, user.AccountId(), body, ct);
            return TypedResults.NoContent();
        });
        school.MapPost("/leave", async (Guid schoolId, LeaveBody body, ClaimsPrincipal user, LifecycleService s, CancellationToken ct) =>
        {
            await s.LeaveAsParentAsync(schoolId, user.AccountId(), body, ct);
            return TypedResults.NoContent();
        });
        school.MapPost("/staff/{accountId:guid}/leave", async (Guid schoolId, Guid accountId, LeaveBody body, ClaimsPrincipal user, LifecycleService s, CancellationToken ct) =>
        {
            await s.RemoveStaffAsync(schoolId, accountId, user.AccountId(), body, ct);
            return TypedResults.NoContent();
        });
        school.MapPost("/rollover", (Guid schoolId, RolloverBody body, ClaimsPrincipal user, LifecycleService s, CancellationToken ct) =>
            s.RolloverAsync(schoolId, user.AccountId(), body, ct));

        school.MapGet("/statistics", (Guid schoolId, string? tz, ClaimsPrincipal user, StatisticsService s, CancellationToken ct) => s.SchoolAsync(schoolId, user.AccountId(), tz, ct));
        school.MapGet("/statistics.csv", async (Guid schoolId, string? tz, ClaimsPrincipal user, StatisticsService s, CancellationToken ct) =>
            TypedResults.File(await s.SchoolCsvAsync(schoolId, user.AccountId(), tz, ct), "text/csv; charset=utf-8", "statistics.csv"));
        return app;
    }
}
