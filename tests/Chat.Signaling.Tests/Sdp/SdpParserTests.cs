using Chat.Signaling.Sdp;

namespace Chat.Signaling.Tests.Sdp;

public sealed class SdpParserTests
{
    [Fact]
    public void Parses_a_real_chromium_audio_video_offer()
    {
        var sdp = SdpParser.Parse(SdpTestData.Offer);

        Assert.Equal(["audio", "video"], sdp.Media.Select(m => m.Kind));
        Assert.Equal("BUNDLE 0 1", sdp.Attribute("group"));
        var audio = sdp.Media[0];
        Assert.Equal("UDP/TLS/RTP/SAVPF", audio.Protocol);
        Assert.Equal(MediaDirection.SendRecv, audio.Direction);
        Assert.Equal("opus", audio.Codecs[0].Name);
        Assert.Equal(48000, audio.Codecs[0].ClockRate);
        Assert.Equal(2, audio.Codecs[0].Channels);
        Assert.Contains(sdp.Media[1].Codecs, c => c.Name == "VP8");
        Assert.Contains(sdp.Media[1].Codecs, c => c.Name == "H264");
    }

    [Theory]
    [InlineData("chromium-offer-sendrecv.sdp", 2)]
    [InlineData("chromium-offer-recvonly.sdp", 2)]
    [InlineData("chromium-answer.sdp", 2)]
    [InlineData("chromium-offer-with-candidates.sdp", 2)]
    [InlineData("chromium-offer-datachannel.sdp", 1)]
    public void Parses_every_captured_description(string file, int sections)
    {
        Assert.Equal(sections, SdpParser.Parse(SdpTestData.Read(file)).Media.Count);
    }

    [Fact]
    public void Accepts_bare_line_feeds()
    {
        Assert.Equal(2, SdpParser.Parse(SdpTestData.Offer.Replace("\r\n", "\n", StringComparison.Ordinal)).Media.Count);
    }

    [Fact]
    public void Keeps_candidates_of_a_gathered_offer()
    {
        var sdp = SdpParser.Parse(SdpTestData.Read("chromium-offer-with-candidates.sdp"));
        Assert.NotEmpty(sdp.Media[0].Candidates);
    }

    [Theory]
    [InlineData(null, "sdp_syntax")]
    [InlineData("", "sdp_syntax")]
    [InlineData("hello", "sdp_syntax")]
    [InlineData("v=1\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio x UDP/TLS/RTP/SAVPF 111\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF\r\n", "sdp_syntax")]
    [InlineData("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nX=oops\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=na me\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n\r\ns=-\r\nt=0 0\r\n", "sdp_syntax")]
    [InlineData("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nv=0\r\n", "sdp_syntax")]
    public void Refuses_malformed_text(string? text, string code)
    {
        Assert.Equal(code, Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }

    [Theory]
    [InlineData('\0')]
    [InlineData('\u0007')]
    [InlineData('\u007f')]
    [InlineData('я')]
    public void Refuses_control_and_non_ascii_characters(char bad)
    {
        var text = SdpTestData.Offer.Replace("s=-", "s=-" + bad, StringComparison.Ordinal);
        Assert.Equal("sdp_syntax", Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }

    [Fact]
    public void Refuses_an_oversized_description()
    {
        var padding = string.Concat(Enumerable.Repeat("a=x-pad:" + new string('p', 900) + "\r\n", 40));
        Assert.Equal("sdp_too_large", Assert.Throws<SdpException>(() => SdpParser.Parse(SdpTestData.Offer + padding)).Code);
    }

    [Fact]
    public void Refuses_an_overlong_line()
    {
        var text = SdpTestData.Offer.Replace("s=-", "s=" + new string('x', 2000), StringComparison.Ordinal);
        Assert.Equal("sdp_too_large", Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }

    [Fact]
    public void Refuses_too_many_lines_of_tiny_attributes()
    {
        var text = SdpTestData.Offer + string.Concat(Enumerable.Repeat("a=x\r\n", 700));
        Assert.Equal("sdp_too_large", Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }

    [Fact]
    public void Refuses_too_many_media_sections()
    {
        var offer = SdpTestData.Offer;
        var video = offer[offer.IndexOf("m=video", StringComparison.Ordinal)..];
        var text = offer + video.Replace("a=mid:1", "a=mid:2", StringComparison.Ordinal) + video.Replace("a=mid:1", "a=mid:3", StringComparison.Ordinal)
            + video.Replace("a=mid:1", "a=mid:4", StringComparison.Ordinal);
        Assert.Equal("sdp_media", Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }

    [Fact]
    public void Refuses_a_flood_of_candidates_in_one_section()
    {
        var candidate = "a=candidate:1 1 udp 2122260223 127.0.0.1 35394 typ host\r\n";
        var text = SdpTestData.Offer + string.Concat(Enumerable.Repeat(candidate, 40));
        Assert.Equal("sdp_too_large", Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }

    [Fact]
    public void Refuses_too_many_formats_on_one_m_line()
    {
        var formats = string.Join(' ', Enumerable.Range(0, 100));
        var text = SdpTestData.ReplaceLine(SdpTestData.Offer, "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF " + formats);
        Assert.Equal("sdp_too_large", Assert.Throws<SdpException>(() => SdpParser.Parse(text)).Code);
    }
}
