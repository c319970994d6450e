using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Calls;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Calls;

/// <summary>Reminders of scheduled calls (<c>Calls:Reminders</c>).</summary>
public sealed class CallReminderOptions
{
    /// <summary>How long before the start the "starts soon" reminder goes out; zero or less: none (only "starts now").</summary>
    public TimeSpan Lead { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often every node looks for due reminders.</summary>
    public TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The "starts now" reminder is still sent this long after the start (e.g. after every node was down), not later.</summary>
    public TimeSpan Late { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// A reminder of a scheduled call, to the chat's members. <see cref="AtStart"/>: false = "starts soon" (the lead time
/// before <see cref="StartsAt"/>), true = "starts now". Join with JoinScheduledCall(<see cref="PlanId"/>).
/// </summary>
public sealed record CallReminderDto(
    Guid PlanId, Guid ChatId, Guid HostId, string Kind, string Title, DateTimeOffset StartsAt, DateTimeOffset OpensAt, bool AtStart)
{
    public static CallReminderDto Of(Guid planId, Guid chatId, Guid hostId, string kind, string title, DateTime startsAtUtc, bool atStart)
    {
        var starts = new DateTimeOffset(DateTime.SpecifyKind(startsAtUtc, DateTimeKind.Utc));
        return new(planId, chatId, hostId, kind, title, starts, starts - CallService.EarlyJoin, atStart);
    }
}

/// <summary>
/// Runs on every node and sends the due reminders of scheduled calls. Nodes race for the same plan; the conditional
/// update in <see cref="CallPlanStore.ClaimSoonRemindersAsync"/> / <see cref="CallPlanStore.ClaimStartRemindersAsync"/>
/// gives each reminder to exactly one of them, which pushes it to the chat's group (over Redis to every node).
/// A push that fails after the claim is not retried: the reminder is lost rather than sent twice.
/// </summary>
public sealed partial class CallReminders(
    CallPlanStore plans, IHubContext<ChatHub, IChatClient> hub, IOptions<CallReminderOptions> options, ILogger<CallReminders> logger) : PeriodicJob(logger)
{
    private const int Batch = 200;

    protected override TimeSpan Interval => options.Value.Poll;

    protected override Task TickAsync(CancellationToken ct) => SendDueAsync(options.Value, ct);

    private async Task SendDueAsync(CallReminderOptions o, CancellationToken ct)
    {
        // "Starts now" first: a plan due for both (e.g. scheduled a moment before its start) gets only that one.
        await SendAllAsync(() => plans.ClaimStartRemindersAsync(o.Late, Batch, ct), atStart: true);
        if (o.Lead > TimeSpan.Zero)
        {
            await SendAllAsync(() => plans.ClaimSoonRemindersAsync(o.Lead, Batch, ct), atStart: false);
        }
    }

    /// <summary>Claims and pushes batch after batch until a claim comes back short (nothing more is due).</summary>
    private async Task SendAllAsync(Func<Task<IReadOnlyList<CallPlanRow>>> claim, bool atStart)
    {
        IReadOnlyList<CallPlanRow> due;
        do
        {
            due = await claim();
            await PushAsync(due, atStart);
        }
        while (due.Count == Batch);
    }

    private async Task PushAsync(IReadOnlyList<CallPlanRow> due, bool atStart)
    {
        foreach (var plan in due)
        {
            var dto = CallReminderDto.Of(plan.Id, plan.ChatId, plan.HostId, plan.Kind, plan.Title, plan.StartsAt, atStart);
            try
            {
                await hub.Clients.Group(LiveConnections.ChatGroup(plan.ChatId)).CallReminder(dto);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPushFailed(logger, e, plan.Id);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call plan {PlanId}: the reminder was claimed but could not be pushed")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, Guid planId);
}
