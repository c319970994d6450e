using Chat.Signaling.Sdp;

namespace Chat.Signaling.Tests.Sdp;

public sealed class SdpValidatorTests
{
    private static string Code(string sdp, SdpPurpose purpose = SdpPurpose.PublishOffer) =>
        Assert.Throws<SdpException>(() => SdpValidator.ParseAndValidate(sdp, purpose)).Code;

    [Fact]
    public void Accepts_real_chromium_publish_offers()
    {
        SdpValidator.ParseAndValidate(SdpTestData.Offer, SdpPurpose.PublishOffer);
        SdpValidator.ParseAndValidate(SdpTestData.Read("chromium-offer-with-candidates.sdp"), SdpPurpose.PublishOffer);
        SdpValidator.ParseAndValidate(SdpTestData.Offer.Replace("a=sendrecv", "a=sendonly", StringComparison.Ordinal), SdpPurpose.PublishOffer);
    }

    [Fact]
    public void Accepts_a_recvonly_answer_for_subscribing()
    {
        // A subscriber answers the SFU's sendonly offer with recvonly and a=setup:active.
        var answer = SdpTestData.Read("chromium-answer.sdp");
        SdpValidator.ParseAndValidate(answer, SdpPurpose.SubscribeAnswer);
    }

    [Fact]
    public void Refuses_a_recvonly_offer_as_publishing_and_a_sending_answer_as_subscribing()
    {
        Assert.Equal("sdp_direction", Code(SdpTestData.Read("chromium-offer-recvonly.sdp")));
        var sending = SdpTestData.Read("chromium-answer.sdp").Replace("a=recvonly", "a=sendrecv", StringComparison.Ordinal);
        Assert.Equal("sdp_direction", Code(sending, SdpPurpose.SubscribeAnswer));
    }

    [Fact]
    public void Refuses_data_channels()
    {
        Assert.Equal("sdp_media", Code(SdpTestData.Read("chromium-offer-datachannel.sdp")));
    }

    [Fact]
    public void Refuses_two_directions_in_one_section()
    {
        Assert.Equal("sdp_direction", Code(SdpTestData.Offer.Replace("a=sendrecv", "a=sendrecv\r\na=recvonly", StringComparison.Ordinal)));
    }

    [Fact]
    public void Refuses_unencrypted_rtp()
    {
        Assert.Equal("sdp_dtls", Code(SdpTestData.Offer.Replace("UDP/TLS/RTP/SAVPF", "RTP/AVP", StringComparison.Ordinal)));
    }

    [Fact]
    public void Refuses_a_missing_or_weak_fingerprint()
    {
        Assert.Equal("sdp_dtls", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=fingerprint", null)));
        Assert.Equal("sdp_dtls", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=fingerprint", "a=fingerprint:sha-1 15:03:23:33:0B:1C:04:83:0B:61:9F:5E:0B:28:45:94:88:10:2A:FA")));
        Assert.Equal("sdp_dtls", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=fingerprint", "a=fingerprint:sha-256 zz")));
    }

    [Fact]
    public void Refuses_missing_ice_credentials()
    {
        Assert.Equal("sdp_ice", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=ice-ufrag", null)));
        Assert.Equal("sdp_ice", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=ice-pwd", "a=ice-pwd:short")));
        Assert.Equal("sdp_ice", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=ice-ufrag", "a=ice-ufrag:<script>")));
    }

    [Fact]
    public void Refuses_a_wrong_dtls_role()
    {
        Assert.Equal("sdp_dtls", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=setup", "a=setup:holdconn")));
        var answer = SdpTestData.Read("chromium-answer.sdp");
        Assert.Equal("sdp_dtls", Code(SdpTestData.ReplaceAll(answer, "a=setup", "a=setup:actpass"), SdpPurpose.SubscribeAnswer));
    }

    [Fact]
    public void Refuses_a_section_without_rtcp_mux()
    {
        Assert.Equal("sdp_media", Code(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=rtcp-mux", null)));
    }

    [Fact]
    public void Refuses_sections_without_an_allowed_codec()
    {
        var noOpus = SdpTestData.ReplaceLine(SdpTestData.Offer, "a=rtpmap:111", "a=rtpmap:111 speex/48000");
        Assert.Equal("sdp_codec", Code(noOpus));

        var onlyVp9 = SdpTestData.ReplaceAll(SdpTestData.ReplaceAll(SdpTestData.Offer, "a=rtpmap:96 VP8", "a=rtpmap:96 VP9/90000"), "a=rtpmap:", null);
        Assert.Equal("sdp_codec", Code(onlyVp9));
    }

    [Fact]
    public void Refuses_an_rtpmap_for_a_payload_type_not_offered()
    {
        Assert.Equal("sdp_codec", Code(SdpTestData.Offer.Replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:55 opus/48000/2", StringComparison.Ordinal)));
    }

    [Fact]
    public void Refuses_duplicate_or_missing_mids()
    {
        Assert.Equal("sdp_media", Code(SdpTestData.Offer.Replace("a=mid:1", "a=mid:0", StringComparison.Ordinal)));
        Assert.Equal("sdp_media", Code(SdpTestData.ReplaceLine(SdpTestData.Offer, "a=mid:1", null)));
    }

    [Fact]
    public void Refuses_an_offer_whose_every_section_is_rejected()
    {
        var text = SdpTestData.Offer.Replace("m=audio 9", "m=audio 0", StringComparison.Ordinal).Replace("m=video 9", "m=video 0", StringComparison.Ordinal);
        Assert.Equal("sdp_media", Code(text));
    }

    [Fact]
    public void Refuses_a_bad_candidate_inside_the_description()
    {
        var text = SdpTestData.Offer.Replace("a=rtcp-mux\r\n", "a=rtcp-mux\r\na=candidate:1 1 udp 1 evil.example.com 9 typ host\r\n", StringComparison.Ordinal);
        Assert.Equal("candidate_invalid", Code(text));
    }
}
