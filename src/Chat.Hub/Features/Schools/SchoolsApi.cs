using System.Security.Claims;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Schools;

public static class SchoolsApi
{
    public static IEndpointRouteBuilder MapSchoolsApi(this IEndpointRouteBuilder app)
    {
        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("Schools").RequireAuthorization();
        school.MapGet("/", (Guid schoolId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) => s.GetAsync(schoolId, user.AccountId(), ct));
        school.MapPut("/", (Guid schoolId, UpdateSchoolBody body, ClaimsPrincipal user, SchoolService s, CancellationToken ct) => s.UpdateAsync(schoolId, user.AccountId(), body, ct));

        school.MapGet("/classes", (Guid schoolId, bool? includeArchived, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
            s.ListClassesAsync(schoolId, user.AccountId(), includeArchived ?? false, ct));
        school.MapPost("/classes", async (Guid schoolId, CreateClassBody body, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
        {
            var created = await s.CreateClassAsync(schoolId, user.AccountId(), body, ct);
            return TypedResults.Created($"/api/schools/{schoolId}/classes/{created.Id}", created);
        });
        school.MapPatch("/classes/{classId:guid}", (Guid schoolId, Guid classId, UpdateClassBody body, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
            s.UpdateClassAsync(schoolId, classId, user.AccountId(), body, ct));
        school.MapPut("/classes/{classId:guid}/teachers/{accountId:guid}", async (Guid schoolId, Guid classId, Guid accountId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
        {
            await s.SetClassTeacherAsync(schoolId, classId, accountId, user.AccountId(), true, ct);
            return TypedResults.NoContent();
        });
        school.MapDelete("/classes/{classId:guid}/teachers/{accountId:guid}", async (Guid schoolId, Guid classId, Guid accountId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
        {
            await s.SetClassTeacherAsync(schoolId, classId, accountId, user.AccountId(), false, ct);
            return TypedResults.NoContent();
        });

        school.MapGet("/members", (Guid schoolId, Guid? classId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
            s.ListMembersAsync(schoolId, user.AccountId(), classId, ct));
        MapToggle(school, "/admins/{accountId:guid}", (s, schoolId, accountId, me, on, ct) => s.SetAdminAsync(schoolId, accountId, me, on, ct));
        MapToggle(school, "/teachers/{accountId:guid}/verification", (s, schoolId, accountId, me, on, ct) => s.SetTeacherVerifiedAsync(schoolId, accountId, me, on, ct));
        MapToggle(school, "/directors/{accountId:guid}", (s, schoolId, accountId, me, on, ct) => s.SetDirectorAsync(schoolId, accountId, me, on, ct));

        school.MapGet("/audit", (Guid schoolId, long? before, int? limit, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
            s.AuditAsync(schoolId, user.AccountId(), before, limit, ct));
        return app;
    }

    /// <summary>PUT grants a role, DELETE takes it away.</summary>
    private static void MapToggle(RouteGroupBuilder group, string pattern, Func<SchoolService, Guid, Guid, Guid, bool, CancellationToken, Task> action)
    {
        group.MapPut(pattern, async (Guid schoolId, Guid accountId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
        {
            await action(s, schoolId, accountId, user.AccountId(), true, ct);
            return TypedResults.NoContent();
        });
        group.MapDelete(pattern, async (Guid schoolId, Guid accountId, ClaimsPrincipal user, SchoolService s, CancellationToken ct) =>
        {
            await action(s, schoolId, accountId, user.AccountId(), false, ct);
            return TypedResults.NoContent();
        });
    }
}
