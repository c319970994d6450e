using Chat.Hub.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// Settings whose wrong value would make the server misbehave silently (a rate of zero, a code sender that does not
/// exist, invite links to nowhere, TURN half configured) stop the node at start with a message naming the setting and
/// its value. One representative per section; Calls:Presence has its own tests (CallPresenceSettingsTests). The
/// settings are tried on in-process hosts of the app (the same start, a fraction of a node process's cost); one bad
/// setting and the defaults go through a real node process, which must stop with the message on its output.
/// </summary>
public sealed class SettingsCheckTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Theory]
    [InlineData("Limits:MessageBurst must be positive (it is 0)", "Limits:MessageBurst=0")]
    [InlineData("Limits:MessagesPerSecond must be positive (it is -1)", "Limits:MessagesPerSecond=-1")]
    [InlineData("Auth:AccessTokenMinutes must be positive (it is 0)", "Auth:AccessTokenMinutes=0")]
    [InlineData("Codes:WebhookUrl must be an absolute http or https URL (it is empty)", "Codes:Sender=webhook")]
    [InlineData("Codes:WebhookUrl must be an absolute http or https URL (it is gateway.local/sms)", "Codes:Sender=Webhook", "Codes:WebhookUrl=gateway.local/sms")]
    [InlineData("Site:PublicUrl must be an absolute http or https URL (it is school.example)", "Site:PublicUrl=school.example")]
    [InlineData("Files:MaxFilesPerMessage must be positive (it is 0)", "Files:MaxFilesPerMessage=0")]
    [InlineData("Files:CleanupGraceSeconds must not be negative (it is -1)", "Files:CleanupGraceSeconds=-1")]
    [InlineData("Polls:CloseCheckMilliseconds must be positive (it is 0)", "Polls:CloseCheckMilliseconds=0")]
    [InlineData("Calls:Reminders:Poll must be positive (it is 00:00:00)", "Calls:Reminders:Poll=00:00:00")]
    [InlineData("Calls:Turn:Secret must be set together with Calls:Turn:Urls", "Calls:Turn:Secret=s3cret")]
    [InlineData("Calls:Turn:Lifetime must be positive (it is -01:00:00)", "Calls:Turn:Lifetime=-01:00:00")]
    [InlineData("Calls:Janus:Urls:0 must be an absolute ws or wss URL (it is http://127.0.0.1:8088/janus)", "Calls:Janus:Urls:0=http://127.0.0.1:8088/janus")]
    public async Task ServerStartsWithABadSetting_ItRefuses_SayingWhichSettingAndItsValue(string message, params string[] settings)
    {
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(
            () => app.StartAndStopWithAsync(settings.Select(s => s.Split('=', 2)).ToDictionary(s => s[0], string? (s) => s[1])));

        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public async Task NodeProcessStartsWithABadSetting_ItStops_SayingWhichSettingAndItsValue()
    {
        await using var node = app.NodeProcess(new Dictionary<string, string?> { ["Codes__Sender"] = "sms" });

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(node.StartAsync);

        Assert.Contains("Chat.Hub exited", failed.Message);
        Assert.Contains("Codes:Sender must be file or webhook (it is sms)", failed.Message);
    }

    [Fact]
    public async Task NodeProcessStartsWithTheDefaults_ItRuns()
    {
        await using var node = app.NodeProcess(new Dictionary<string, string?>());

        await node.StartAsync();
    }

    [Fact]
    public async Task ServerStartsWithUnusualButSoundSettings_ItRuns()
    {
        await app.StartAndStopWithAsync(new Dictionary<string, string?>
        {
            ["Codes:Sender"] = "webhook",
            ["Codes:WebhookUrl"] = "https://gateway.school.test/codes",
            ["Site:PublicUrl"] = "https://school.test/chat",
            ["Limits:TypingIntervalSeconds"] = "0",
            ["Auth:RefreshRetrySeconds"] = "0",
            ["Files:ReserveFreeBytes"] = "0",
            ["Files:CleanupGraceSeconds"] = "0",
            ["Polls:PushCoalesceMilliseconds"] = "0",
            ["Calls:Reminders:Lead"] = "00:00:00",
            ["Calls:Turn:Secret"] = "s3cret",
            ["Calls:Turn:Urls:0"] = "turn:127.0.0.1:3478?transport=udp",
            ["Calls:Turn:Urls:1"] = "turns:turn.school.test:5349",
        });
    }
}
