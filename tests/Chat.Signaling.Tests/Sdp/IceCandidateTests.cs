using Chat.Signaling.Sdp;

namespace Chat.Signaling.Tests.Sdp;

public sealed class IceCandidateTests
{
    [Fact]
    public void Parses_every_real_chromium_candidate()
    {
        var candidates = SdpTestData.Candidates.Select(IceCandidate.Parse).ToList();
        Assert.NotEmpty(candidates);
        Assert.Contains(candidates, c => c.Transport == "udp" && c.Type == "host" && c.Component == 1);
        Assert.Contains(candidates, c => c.Transport == "tcp" && c.TcpType == "active");
    }

    [Theory]
    [InlineData("candidate:842163049 1 udp 1677729535 203.0.113.7 52311 typ srflx raddr 192.168.1.2 rport 52311 generation 0 ufrag abcd network-cost 999")]
    [InlineData("candidate:1 1 udp 41885439 198.51.100.2 3478 typ relay raddr 203.0.113.7 rport 50000")]
    [InlineData("1 2 UDP 2122260223 2001:db8::1 50000 typ host")]
    public void Parses_srflx_relay_ipv6_and_rtcp_candidates(string text)
    {
        IceCandidate.Parse(text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("candidate:")]
    [InlineData("candidate:1 1 udp 2122260223 127.0.0.1 35394")]
    [InlineData("candidate:1 3 udp 2122260223 127.0.0.1 35394 typ host")]
    [InlineData("candidate:1 0 udp 2122260223 127.0.0.1 35394 typ host")]
    [InlineData("candidate:1 1 sctp 2122260223 127.0.0.1 35394 typ host")]
    [InlineData("candidate:1 1 udp -5 127.0.0.1 35394 typ host")]
    [InlineData("candidate:1 1 udp 99999999999 127.0.0.1 35394 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 127.0.0.1 70000 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 127.0.0.1 35394 typ magic")]
    [InlineData("candidate:1 1 udp 2122260223 127.0.0.1 35394 type host")]
    [InlineData("candidate:1 1 udp 2122260223 f2a5a9ad-6f22-4f4c-9e53-4b8d2e0b0a11.local 35394 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 turn.example.com 35394 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 2130706433 35394 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 0x7f.1 35394 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 203.0.113.7 35394 typ srflx raddr host.example rport 1")]
    [InlineData("candidate:1 1 tcp 2122260223 127.0.0.1 9 typ host")]
    [InlineData("candidate:1 1 tcp 2122260223 127.0.0.1 9 typ host tcptype sideways")]
    [InlineData("candidate:1 1 udp 2122260223 127.0.0.1 35394 typ host generation")]
    [InlineData("candidate:a;b 1 udp 2122260223 127.0.0.1 35394 typ host")]
    [InlineData("candidate:1 1 udp 2122260223 127.0.0.1 35394 typ host\r\na=candidate:2")]
    public void Refuses_malformed_and_hostile_candidates(string? text)
    {
        Assert.Equal("candidate_invalid", Assert.Throws<SdpException>(() => IceCandidate.Parse(text)).Code);
    }

    [Fact]
    public void Refuses_an_oversized_candidate()
    {
        var text = "candidate:1 1 udp 2122260223 127.0.0.1 35394 typ host x-pad " + new string('p', 600);
        Assert.Equal("candidate_invalid", Assert.Throws<SdpException>(() => IceCandidate.Parse(text)).Code);
    }
}
