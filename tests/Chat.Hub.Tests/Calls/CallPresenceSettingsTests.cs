using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Calls:Presence settings that would make live nodes look dead to the others, or a job hammer the database, stop the
/// server at start with a message naming the setting, instead of it running and taking people out of lessons.
/// </summary>
public sealed class CallPresenceSettingsTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Theory]
    [InlineData("Calls__Presence__NodeDeadAfter", "00:00:00.1", "Calls:Presence:NodeDeadAfter (00:00:00.1000000) must be at least three node heartbeats")]
    [InlineData("Calls__Presence__NodeDeadAfter", "00:00:00", "Calls:Presence:NodeDeadAfter (00:00:00) must be at least three node heartbeats")]
    [InlineData("Calls__Presence__Poll", "00:00:00", "Calls:Presence:Poll must be positive (it is 00:00:00)")]
    [InlineData("Calls__Presence__HandleCheck", "-00:00:01", "Calls:Presence:HandleCheck must be positive (it is -00:00:01)")]
    [InlineData("Calls__Presence__GoneAfter", "00:00:00", "Calls:Presence:GoneAfter must be positive (it is 00:00:00)")]
    public async Task ServerStartsWithABadPresenceSetting_ItStops_SayingWhichSetting(string setting, string value, string message)
    {
        await using var node = app.NodeProcess(new Dictionary<string, string?> { [setting] = value });

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(node.StartAsync);

        Assert.Contains("Chat.Hub exited", failed.Message);
        Assert.Contains(message, failed.Message);
    }

    [Fact]
    public async Task ServerStartsWithShortButSoundPresenceSettings_ItRuns()
    {
        await using var node = app.NodeProcess(new Dictionary<string, string?>
        {
            ["Calls__Presence__Poll"] = "00:00:00.2",
            ["Calls__Presence__NodeDeadAfter"] = "00:00:00.6",
            ["Calls__Presence__GoneAfter"] = "00:00:01",
            ["Calls__Presence__HandleCheck"] = "00:00:01",
        });

        await node.StartAsync();
    }
}
