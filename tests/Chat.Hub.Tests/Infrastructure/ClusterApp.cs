using Chat.Testing;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// Two real server processes (nodes A and B) on one PostgreSQL database and one real Redis, as in production.
/// The in-process app (same database, same signing key) builds schools through the API; clients connect to the nodes.
/// </summary>
public sealed class ClusterApp : ChatApp
{
    public RedisServer Redis { get; private set; } = null!;

    public HubServerProcess NodeA { get; private set; } = null!;

    public HubServerProcess NodeB { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Redis = await RedisServer.StartAsync();
        NodeA = NewNode();
        NodeB = NewNode();
        await Task.WhenAll(NodeA.StartAsync(), NodeB.StartAsync());
    }

    public HubServerProcess NewNode(int? port = null, IDictionary<string, string?>? settings = null) => new(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
    {
        ["ConnectionStrings__Chat"] = ConnectionString,
        ["ConnectionStrings__Redis"] = Redis.ConnectionString,
        ["Auth__SigningKey"] = SigningKey,
        ["Limits__MessagesPerSecond"] = "1000",
        ["Limits__MessageBurst"] = "1000",
        ["Logging__Console__FormatterName"] = "simple",
    }, port);

    public override async ValueTask DisposeAsync()
    {
        await NodeA.DisposeAsync();
        await NodeB.DisposeAsync();
        await Redis.DisposeAsync();
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
