using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Moderation;

namespace Chat.Hub.Realtime;

/// <summary>Moderation methods of the hub: every one names a rule where the regulations ask for one.</summary>
public sealed partial class ChatHub
{
    public Task<IReadOnlyList<RuleDto>> GetRules(Guid schoolId) => Moderation.RulesAsync(schoolId, Me, Context.ConnectionAborted);

    public Task<MessageDto> ModerateDelete(Guid chatId, long seq, Guid ruleId) => Moderation.DeleteMessageAsync(Me, chatId, seq, ruleId, Context.ConnectionAborted);

    public Task<ViolationCountDto> RecordViolation(ViolationRequest request) => Moderation.RecordViolationAsync(Me, request, Context.ConnectionAborted);

    public Task<ViolationCountDto> GetViolations(Guid chatId, Guid accountId) => Moderation.ViolationsAsync(Me, chatId, accountId, Context.ConnectionAborted);

    public Task<IReadOnlyList<ViolationCountDto>> GetChatViolations(Guid chatId) => Moderation.ChatViolationsAsync(Me, chatId, Context.ConnectionAborted);

    public Task<RestrictionDto> BlockMember(BlockRequest request) => Moderation.BlockAsync(Me, request, Context.ConnectionAborted);

    public Task<RestrictionDto> UnblockMember(Guid chatId, Guid accountId) => Moderation.LiftAsync(Me, chatId, accountId, "block", Context.ConnectionAborted);

    public Task<RestrictionDto> MuteMember(MuteRequest request) => Moderation.MuteAsync(Me, request, Context.ConnectionAborted);

    public Task<RestrictionDto> UnmuteMember(Guid chatId, Guid accountId) => Moderation.LiftAsync(Me, chatId, accountId, "mute", Context.ConnectionAborted);

    public Task RemoveChatMember(RemoveMemberRequest request) => Moderation.RemoveMemberAsync(Me, request, Context.ConnectionAborted);

    public Task<MessageDto> RemindRules(Guid chatId, Guid clientId) => Moderation.RemindRulesAsync(Me, chatId, clientId, Context.ConnectionAborted);

    public Task<Guid> ReportMessage(ReportRequest request) => Moderation.ReportAsync(Me, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<ReportDto>> GetReports(Guid chatId, string? status) => Moderation.ReportsAsync(Me, chatId, status, Context.ConnectionAborted);

    public Task<ReportDto> ResolveReport(Guid chatId, Guid reportId, string resolution) => Moderation.ResolveReportAsync(Me, chatId, reportId, resolution, Context.ConnectionAborted);

    public Task<RestrictionDto?> GetMyRestriction(Guid chatId) => Moderation.MyRestrictionAsync(Me, chatId, Context.ConnectionAborted);

    public Task<IReadOnlyList<RestrictionDto>> GetRestrictions(Guid chatId) => Moderation.RestrictionsAsync(Me, chatId, Context.ConnectionAborted);
}
