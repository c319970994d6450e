using System.Globalization;
using Chat.Signaling.Turn;

namespace Chat.Signaling.Tests.Turn;

public sealed class TurnCredentialsTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Credentials_are_per_user_short_lived_and_what_coturn_computes()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var options = new TurnOptions { Secret = "s3cret", Urls = ["turn:127.0.0.1:3478?transport=udp"], Lifetime = TimeSpan.FromMinutes(30) };
        var turn = new TurnCredentials(options, new FixedTime(now));
        var alice = Guid.NewGuid();

        var server = turn.For(alice)!;

        var expiry = now.AddMinutes(30).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        Assert.Equal($"{expiry}:{alice:N}", server.Username);
        // coturn: base64(HMAC-SHA1(secret, username)); the vector was computed with Python hmac.
        Assert.Equal("TtElzSjT0GdnTQ9xdcRNxx96yQs=", TurnCredentials.Password("s3cret", "1700000000:alice"));
        Assert.Equal(TurnCredentials.Password("s3cret", server.Username), server.Credential);
        Assert.NotEqual(server.Username, turn.For(Guid.NewGuid())!.Username);
        Assert.Equal(now.AddMinutes(30), server.ExpiresAt);
    }

    [Fact]
    public void No_secret_means_no_turn()
    {
        Assert.Null(new TurnCredentials(new TurnOptions(), TimeProvider.System).For(Guid.NewGuid()));
    }
}
