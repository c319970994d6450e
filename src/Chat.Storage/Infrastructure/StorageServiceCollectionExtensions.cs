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
        services.AddSingleton(_ => CreateDataSource(connectionString));
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
        services.AddSingleton<UploadRecordStore>();
        services.AddSingleton<Calls.CallStore>();
        services.AddSingleton<Calls.CallAttendanceStore>();
        services.AddSingleton<Calls.CallGuestStore>();
        services.AddSingleton<Calls.CallPlanStore>();
        return services;
    }

    /// <summary>
    /// The data source with this server's defaults, unless the connection string says otherwise (docs/performance.md):
    /// no <c>DISCARD ALL</c> when a pooled connection is returned (nothing here keeps session state: no SET, no
    /// temporary tables, advisory locks are transaction-scoped or released explicitly), and automatic preparation of
    /// the statements used most, which a reset would throw away. Together they halved PostgreSQL's CPU per message.
    /// At most 32 connections per node (Npgsql's default is 100): the statements are short, more backends than the
    /// database has cores only queue on its CPUs with cold caches (a reconnect storm opened dozens of new backends and
    /// PostgreSQL's CPU went to 70 %), and two or three nodes still fit PostgreSQL's default of 100 connections.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!Given(given, "No Reset On Close", "NoResetOnClose"))
        {
            builder.ConnectionStringBuilder.NoResetOnClose = true;
        }

        if (!Given(given, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        }

        if (!Given(given, "Maximum Pool Size", "Max Pool Size", "MaxPoolSize"))
        {
            builder.ConnectionStringBuilder.MaxPoolSize = 32;
        }

        return builder.Build();
    }

    private static bool Given(System.Data.Common.DbConnectionStringBuilder given, params string[] keys) =>
        keys.Any(given.ContainsKey);
}
