using Chat.Hub.Features.Moderation;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>Moderation steps many tests need as their set-up.</summary>
public static class Moderate
{
    /// <summary>
    /// Blocks someone in a chat as the rules allow it: the four violations of <paramref name="ruleId"/> a block needs
    /// (each with <paramref name="violation"/> as its note), then the block until <paramref name="until"/>.
    /// </summary>
    public static async Task<RestrictionDto> BlockAsync(
        HubConnection moderator, Guid chatId, Guid accountId, Guid ruleId, DateTimeOffset until, string reason, string violation = "флуд")
    {
        for (var i = 0; i < 4; i++)
        {
            await moderator.InvokeAsync<ViolationCountDto>("RecordViolation", new ViolationRequest(chatId, accountId, ruleId, null, violation));
        }

        return await moderator.InvokeAsync<RestrictionDto>("BlockMember", new BlockRequest(chatId, accountId, ruleId, until, reason));
    }
}
