using System.Security.Claims;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;

namespace Chat.Hub.Features.Polls;

/// <summary>Polls over HTTP: the same service as the hub methods CreatePoll, GetPoll, Vote, RetractVote, ClosePoll.</summary>
public static class PollsApi
{
    public static IEndpointRouteBuilder MapPollsApi(this IEndpointRouteBuilder app)
    {
        var polls = app.MapGroup("/api/chats/{chatId:guid}/polls").WithTags("Polls").RequireAuthorization();
        polls.MapPost("/", (Guid chatId, CreatePollRequest body, ClaimsPrincipal user, PollService s, HubLimits limits, CancellationToken ct) =>
        {
            limits.CheckSend(user.AccountId());
            return s.CreateAsync(user.AccountId(), body with { ChatId = chatId }, ct);
        });
        polls.MapGet("/{seq:long}", (Guid chatId, long seq, ClaimsPrincipal user, PollService s, CancellationToken ct) =>
            s.GetAsync(user.AccountId(), chatId, seq, ct));
        polls.MapPut("/{seq:long}/vote", (Guid chatId, long seq, VoteBody body, ClaimsPrincipal user, PollService s, HubLimits limits, CancellationToken ct) =>
        {
            limits.CheckSend(user.AccountId());
            return s.VoteAsync(user.AccountId(), chatId, seq, body.OptionIds, ct);
        });
        polls.MapDelete("/{seq:long}/vote", (Guid chatId, long seq, ClaimsPrincipal user, PollService s, HubLimits limits, CancellationToken ct) =>
        {
            limits.CheckSend(user.AccountId());
            return s.RetractAsync(user.AccountId(), chatId, seq, ct);
        });
        polls.MapPost("/{seq:long}/close", (Guid chatId, long seq, ClaimsPrincipal user, PollService s, CancellationToken ct) =>
            s.CloseAsync(user.AccountId(), chatId, seq, ct));
        return app;
    }

    public static IServiceCollection AddPolls(this IServiceCollection services, IConfiguration configuration)
    {
        // Polls:BallotKey is checked where it is read (BallotKeys).
        services.AddCheckedOptions<PollOptions>(configuration, "Polls", (o, p) =>
        {
            p.Positive(o.CloseCheckMilliseconds);
            p.NotNegative(o.PushCoalesceMilliseconds);
            p.Positive(o.MaxOpenDays);
        });
        services.AddSingleton<BallotKeys>();
        services.AddSingleton<PollPush>();
        services.AddSingleton<PollService>();
        services.AddHostedService<PollCloser>();
        return services;
    }
}
