using Chat.Testing;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// Two real server processes (nodes A and B) on one PostgreSQL database and one real Redis, as in production.
/// The in-process app (same database, same signing key) builds schools through the API; clients connect to the nodes.
/// A derived fixture may give every node further settings (<see cref="NodeSettings"/>, environment-variable names).
/// </summary>
public class ClusterApp : ChatApp
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

    /// <summary>Settings every node of this cluster gets (e.g. <c>Calls__Reminders__Poll</c>); <c>NewNode</c>'s own win.</summary>
    protected virtual IDictionary<string, string?> NodeSettings => new Dictionary<string, string?>();

    public HubServerProcess NewNode(int? port = null, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(NodeSettings);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        all["ConnectionStrings__Redis"] = Redis.ConnectionString;
        all["Limits__MessagesPerSecond"] = "1000";
        all["Limits__MessageBurst"] = "1000";
        return NodeProcess(all, port);
    }

    public override async ValueTask DisposeAsync()
    {
        await NodeA.DisposeAsync();
        await NodeB.DisposeAsync();
        await Redis.DisposeAsync();
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
