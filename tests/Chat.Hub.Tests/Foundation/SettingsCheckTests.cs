using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// Settings whose wrong value would make the server misbehave silently (a rate of zero, a code sender that does not
/// exist, invite links to nowhere, TURN half configured) stop the node at start with a message naming the setting and
/// its value. One representative per section; Calls:Presence has its own tests (CallPresenceSettingsTests).
/// </summary>
public sealed class SettingsCheckTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Theory]
    [InlineData("Limits:MessageBurst must be positive (it is 0)", "Limits__MessageBurst=0")]
    [InlineData("Limits:MessagesPerSecond must be positive (it is -1)", "Limits__MessagesPerSecond=-1")]
    [InlineData("Auth:AccessTokenMinutes must be positive (it is 0)", "Auth__AccessTokenMinutes=0")]
    [InlineData("Codes:Sender must be file or webhook (it is sms)", "Codes__Sender=sms")]
    [InlineData("Codes:WebhookUrl must be an absolute http or https URL (it is empty)", "Codes__Sender=webhook")]
    [InlineData("Codes:WebhookUrl must be an absolute http or https URL (it is gateway.local/sms)", "Codes__Sender=Webhook", "Codes__WebhookUrl=gateway.local/sms")]
    [InlineData("Site:PublicUrl must be an absolute http or https URL (it is school.example)", "Site__PublicUrl=school.example")]
    [InlineData("Files:MaxFilesPerMessage must be positive (it is 0)", "Files__MaxFilesPerMessage=0")]
    [InlineData("Files:CleanupGraceSeconds must not be negative (it is -1)", "Files__CleanupGraceSeconds=-1")]
    [InlineData("Polls:CloseCheckMilliseconds must be positive (it is 0)", "Polls__CloseCheckMilliseconds=0")]
    [InlineData("Calls:Reminders:Poll must be positive (it is 00:00:00)", "Calls__Reminders__Poll=00:00:00")]
    [InlineData("Calls:Turn:Secret must be set together with Calls:Turn:Urls", "Calls__Turn__Secret=s3cret")]
    [InlineData("Calls:Turn:Lifetime must be positive (it is -01:00:00)", "Calls__Turn__Lifetime=-01:00:00")]
    [InlineData("Calls:Janus:Urls:0 must be an absolute ws or wss URL (it is http://127.0.0.1:8088/janus)", "Calls__Janus__Urls__0=http://127.0.0.1:8088/janus")]
    public async Task ServerStartsWithABadSetting_ItStops_SayingWhichSettingAndItsValue(string message, params string[] settings)
    {
        await using var node = app.NodeProcess(settings.Select(s => s.Split('=', 2)).ToDictionary(s => s[0], string? (s) => s[1]));

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(node.StartAsync);

        Assert.Contains("Chat.Hub exited", failed.Message);
        Assert.Contains(message, failed.Message);
    }

    [Fact]
    public async Task ServerStartsWithTheDefaults_ItRuns()
    {
        await using var node = app.NodeProcess(new Dictionary<string, string?>());

        await node.StartAsync();
    }

    [Fact]
    public async Task ServerStartsWithUnusualButSoundSettings_ItRuns()
    {
        await using var node = app.NodeProcess(new Dictionary<string, string?>
        {
            ["Codes__Sender"] = "webhook",
            ["Codes__WebhookUrl"] = "https://gateway.school.test/codes",
            ["Site__PublicUrl"] = "https://school.test/chat",
            ["Limits__TypingIntervalSeconds"] = "0",
            ["Auth__RefreshRetrySeconds"] = "0",
            ["Files__ReserveFreeBytes"] = "0",
            ["Files__CleanupGraceSeconds"] = "0",
            ["Polls__PushCoalesceMilliseconds"] = "0",
            ["Calls__Reminders__Lead"] = "00:00:00",
            ["Calls__Turn__Secret"] = "s3cret",
            ["Calls__Turn__Urls__0"] = "turn:127.0.0.1:3478?transport=udp",
            ["Calls__Turn__Urls__1"] = "turns:turn.school.test:5349",
        });

        await node.StartAsync();
    }
}
