using Chat.Hub.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Calls:Presence settings that would make live nodes look dead to the others, or a job hammer the database, stop the
/// server at start with a message naming the setting, instead of it running and taking people out of lessons (tried on
/// in-process hosts of the app; SettingsCheckTests shows a node process stopping with such a message).
/// </summary>
public sealed class CallPresenceSettingsTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Theory]
    [InlineData("Calls:Presence:NodeDeadAfter", "00:00:00.1", "Calls:Presence:NodeDeadAfter (00:00:00.1000000) must be at least three node heartbeats")]
    [InlineData("Calls:Presence:NodeDeadAfter", "00:00:00", "Calls:Presence:NodeDeadAfter (00:00:00) must be at least three node heartbeats")]
    [InlineData("Calls:Presence:Poll", "00:00:00", "Calls:Presence:Poll must be positive (it is 00:00:00)")]
    [InlineData("Calls:Presence:HandleCheck", "-00:00:01", "Calls:Presence:HandleCheck must be positive (it is -00:00:01)")]
    [InlineData("Calls:Presence:GoneAfter", "00:00:00", "Calls:Presence:GoneAfter must be positive (it is 00:00:00)")]
    public async Task ServerStartsWithABadPresenceSetting_ItRefuses_SayingWhichSetting(string setting, string value, string message)
    {
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(
            () => app.StartAndStopWithAsync(new Dictionary<string, string?> { [setting] = value }));

        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public async Task ServerStartsWithShortButSoundPresenceSettings_ItRuns()
    {
        await app.StartAndStopWithAsync(new Dictionary<string, string?>
        {
            ["Calls:Presence:Poll"] = "00:00:00.2",
            ["Calls:Presence:NodeDeadAfter"] = "00:00:00.6",
            ["Calls:Presence:GoneAfter"] = "00:00:01",
            ["Calls:Presence:HandleCheck"] = "00:00:01",
        });
    }
}
