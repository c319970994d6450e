using System.Security.Claims;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Accounts;
using Chat.Storage.Audit;
using Chat.Storage.Infrastructure;
using Chat.Storage.Schools;

namespace Chat.Hub.Features.Platform;

public sealed record RegisterSchoolBody(string? Name, string? Region, string? Address, string? AdminPhone, string? AdminEmail);

/// <summary>The platform operator's API: register schools on request, suspend and resume them.</summary>
public static class PlatformApi
{
    public static IEndpointRouteBuilder MapPlatformApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/platform/schools").WithTags("Platform operator").RequireAuthorization();
        group.MapGet("/", List);
        group.MapPost("/", Register);
        group.MapPost("/{schoolId:guid}/suspend", (Guid schoolId, ClaimsPrincipal user, PlatformService p, CancellationToken ct) => p.SetStatusAsync(user.AccountId(), schoolId, "suspended", ct));
        group.MapPost("/{schoolId:guid}/resume", (Guid schoolId, ClaimsPrincipal user, PlatformService p, CancellationToken ct) => p.SetStatusAsync(user.AccountId(), schoolId, "active", ct));
        return app;
    }

    private static async Task<IEnumerable<SchoolDto>> List(ClaimsPrincipal user, PlatformService platform, SchoolStore schools, CancellationToken ct)
    {
        await platform.RequireOperatorAsync(user.AccountId(), ct);
        return (await schools.ListAsync(ct)).Select(s => SchoolDto.From(s, null));
    }

    private static async Task<IResult> Register(RegisterSchoolBody body, ClaimsPrincipal user, PlatformService platform, CancellationToken ct)
    {
        var school = await platform.RegisterAsync(user.AccountId(), body, ct);
        return TypedResults.Created($"/api/schools/{school.Id}", school);
    }
}

public sealed class PlatformService(AccountStore accounts, SchoolStore schools, ChatDatabase database, AuditLog audit, RosterSync roster, Chat.Storage.Moderation.ModerationStore moderation, Calls.CallService calls, TimeProvider clock)
{
    public async Task RequireOperatorAsync(Guid accountId, CancellationToken ct)
    {
        var account = await accounts.GetAsync(accountId, ct);
        if (account is not { IsOperator: true, DeletedAt: null })
        {
            throw new ChatException(ChatError.OperatorOnly);
        }
    }

    public async Task<SchoolDto> RegisterAsync(Guid operatorId, RegisterSchoolBody body, CancellationToken ct)
    {
        await RequireOperatorAsync(operatorId, ct);
        var name = Text.Required(body.Name, "name", 200, "Укажите название школы (до 200 символов).");
        var region = Text.Optional(body.Region, "region", 200) ?? "";
        var address = Text.Optional(body.Address, "address", 500) ?? "";
        if (string.IsNullOrWhiteSpace(body.AdminPhone) && string.IsNullOrWhiteSpace(body.AdminEmail))
        {
            throw ChatException.Field("adminPhone", "Укажите телефон или e-mail первого администратора школы.");
        }

        var admin = SignInIdentity.Parse(body.AdminPhone, body.AdminEmail);
        var school = await database.InTransactionAsync(async s =>
        {
            var school = await schools.CreateAsync(s, name, region, address, operatorId, admin.Phone, admin.Email, SchoolYear.Current(clock), ct);
            await audit.AppendAsync(s, school.Id, operatorId, "school.registered", school.Id, new { name }, ct);

            // The admin may already have an account: make them admin now rather than at their next sign-in.
            var existing = await accounts.FindByIdentityAsync(admin.Phone, admin.Email, ct);
            if (existing is not null)
            {
                await schools.ClaimPendingAdminAsync(s, existing.Id, admin.Phone, admin.Email, ct);
            }

            await roster.SyncAsync(s, school.Id, ct); // the staff room chat and the channels exist from the start
            await moderation.SeedDefaultRulesAsync(s, school.Id, ct);
            return school;
        }, ct);
        return SchoolDto.From(school, null);
    }

    public async Task<SchoolDto> SetStatusAsync(Guid operatorId, Guid schoolId, string status, CancellationToken ct)
    {
        await RequireOperatorAsync(operatorId, ct);
        var school = await database.InTransactionAsync(async s =>
        {
            var school = await schools.SetStatusAsync(s, schoolId, status, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
            await audit.AppendAsync(s, schoolId, operatorId, status == "suspended" ? "school.suspended" : "school.resumed", schoolId, null, ct);
            return school;
        }, ct);
        if (status == "suspended")
        {
            await calls.EndSchoolCallsAsync(schoolId);
        }

        return SchoolDto.From(school, null);
    }
}
