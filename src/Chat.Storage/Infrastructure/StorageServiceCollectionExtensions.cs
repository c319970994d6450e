using Chat.Storage.Accounts;
using Chat.Storage.Audit;
using Chat.Storage.Chats;
using Chat.Storage.Files;
using Chat.Storage.Messages;
using Chat.Storage.Polls;
using Chat.Storage.Invites;
using Chat.Storage.Schools;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Storage.Infrastructure;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Registers the single <see cref="NpgsqlDataSource"/> and one store per aggregate.</summary>
    public static IServiceCollection AddChatStorage(this IServiceCollection services, string connectionString)
    {
        DapperSetup.Configure();
        services.AddSingleton(_ =>
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            return builder.Build();
        });
        services.AddSingleton<Migrator>();
        services.AddSingleton<ChatDatabase>();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<SignInCodeStore>();
        services.AddSingleton<SchoolStore>();
        services.AddSingleton<MembershipStore>();
        services.AddSingleton<InviteStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ChatStore>();
        services.AddSingleton<ChannelAudienceStore>();
        services.AddSingleton<PersonBlockStore>();
        services.AddSingleton<MessageStore>();
        services.AddSingleton<Moderation.ModerationStore>();
        services.AddSingleton<Lifecycle.LifecycleStore>();
        services.AddSingleton<Statistics.StatisticsStore>();
        services.AddSingleton<PollStore>();
        services.AddSingleton<FileRecordStore>();
        services.AddSingleton<Calls.CallStore>();
        services.AddSingleton<Calls.CallAttendanceStore>();
        services.AddSingleton<Calls.CallGuestStore>();
        services.AddSingleton<Calls.CallPlanStore>();
        return services;
    }
}
