using System.Text.RegularExpressions;

namespace Chat.Signaling.Sdp;

/// <summary>What an SDP is for; it decides which directions and DTLS roles are acceptable.</summary>
public enum SdpPurpose
{
    /// <summary>A browser offers to publish to the SFU: sendonly or sendrecv (inactive is tolerated).</summary>
    PublishOffer,

    /// <summary>A browser answers the SFU's offer to receive a feed: recvonly or inactive.</summary>
    SubscribeAnswer,
}

/// <summary>
/// Checks a parsed SDP against what a call on our SFU allows: audio and video only, a bounded number of sections,
/// encrypted transport (DTLS-SRTP with a strong fingerprint), ICE credentials, rtcp-mux, an allowed codec in
/// every active section, and well-formed candidates.
/// </summary>
public static partial class SdpValidator
{
    /// <summary>Codecs the SFU rooms use; every active section must offer at least one of them.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> PrimaryCodecs = new Dictionary<string, string[]>
    {
        ["audio"] = ["opus"],
        ["video"] = ["VP8", "H264"],
    };

    private static readonly HashSet<string> FingerprintHashes = ["sha-256", "sha-384", "sha-512"];

    /// <summary>Parses and validates; returns the description or throws <see cref="SdpException"/>.</summary>
    public static SessionDescription ParseAndValidate(string? sdp, SdpPurpose purpose, SdpLimits? limits = null)
    {
        var description = SdpParser.Parse(sdp, limits);
        Validate(description, purpose);
        return description;
    }

    public static void Validate(SessionDescription sdp, SdpPurpose purpose)
    {
        if (sdp.Media.Count == 0)
        {
            throw new SdpException("sdp_media", "no media section");
        }

        var active = 0;
        var mids = new HashSet<string>();
        foreach (var m in sdp.Media)
        {
            if (m.Kind is not ("audio" or "video"))
            {
                throw new SdpException("sdp_media", $"media '{m.Kind}' is not allowed (audio and video only)");
            }

            if (m.Protocol != "UDP/TLS/RTP/SAVPF")
            {
                throw new SdpException("sdp_dtls", $"protocol '{m.Protocol}' is not allowed (UDP/TLS/RTP/SAVPF only)");
            }

            var mid = m.Mid;
            if (mid is null || mid.Length is 0 or > 32 || !SdpParser.IsToken(mid) || !mids.Add(mid))
            {
                throw new SdpException("sdp_media", "every section needs a unique short a=mid");
            }

            if (m.IsRejected)
            {
                continue;
            }

            active++;
            CheckDirection(m, purpose);
            CheckCodecs(m);
            CheckTransport(sdp, m, purpose);
            foreach (var candidate in m.Candidates)
            {
                IceCandidate.Parse(candidate);
            }
        }

        if (active == 0)
        {
            throw new SdpException("sdp_media", "every media section is rejected");
        }
    }

    private static void CheckDirection(MediaDescription m, SdpPurpose purpose)
    {
        var directions = m.Attributes.Count(a => a.Name is "sendrecv" or "sendonly" or "recvonly" or "inactive");
        if (directions > 1)
        {
            throw new SdpException("sdp_direction", "more than one direction in a section");
        }

        var ok = purpose switch
        {
            SdpPurpose.PublishOffer => m.Direction is MediaDirection.SendOnly or MediaDirection.SendRecv or MediaDirection.Inactive,
            _ => m.Direction is MediaDirection.RecvOnly or MediaDirection.Inactive,
        };
        if (!ok)
        {
            throw new SdpException("sdp_direction", $"direction {m.Direction} is not allowed for {purpose}");
        }
    }

    private static void CheckCodecs(MediaDescription m)
    {
        var rtpmaps = m.Attributes.Where(a => a.Name == "rtpmap").ToList();
        foreach (var a in rtpmaps)
        {
            if (a.Value is null || !SdpParser.TryParseRtpMap(a.Value, out var codec) || !m.Formats.Contains(codec.PayloadType.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                throw new SdpException("sdp_codec", "malformed a=rtpmap or one for a payload type not on the m= line");
            }
        }

        var allowed = PrimaryCodecs[m.Kind];
        if (!m.Codecs.Any(c => allowed.Contains(c.Name, StringComparer.OrdinalIgnoreCase)))
        {
            throw new SdpException("sdp_codec", $"{m.Kind} section offers none of {string.Join(", ", allowed)}");
        }
    }

    private static void CheckTransport(SessionDescription sdp, MediaDescription m, SdpPurpose purpose)
    {
        var ufrag = m.Attribute("ice-ufrag") ?? sdp.Attribute("ice-ufrag");
        var pwd = m.Attribute("ice-pwd") ?? sdp.Attribute("ice-pwd");
        if (ufrag is null || !IceUfrag().IsMatch(ufrag))
        {
            throw new SdpException("sdp_ice", "missing or malformed a=ice-ufrag");
        }

        if (pwd is null || !IcePwd().IsMatch(pwd))
        {
            throw new SdpException("sdp_ice", "missing or malformed a=ice-pwd");
        }

        var fingerprint = m.Attribute("fingerprint") ?? sdp.Attribute("fingerprint");
        var space = fingerprint?.IndexOf(' ') ?? -1;
        if (fingerprint is null || space < 0 || !FingerprintHashes.Contains(fingerprint[..space].ToLowerInvariant())
            || !Fingerprint().IsMatch(fingerprint[(space + 1)..]))
        {
            throw new SdpException("sdp_dtls", "missing, weak or malformed a=fingerprint");
        }

        var setup = m.Attribute("setup") ?? sdp.Attribute("setup");
        var setupOk = purpose == SdpPurpose.PublishOffer ? setup is "actpass" or "active" or "passive" : setup is "active" or "passive";
        if (!setupOk)
        {
            throw new SdpException("sdp_dtls", "missing or wrong a=setup");
        }

        if (!m.Has("rtcp-mux"))
        {
            throw new SdpException("sdp_media", "a=rtcp-mux is required");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9+/]{4,256}$")]
    private static partial Regex IceUfrag();

    [GeneratedRegex("^[A-Za-z0-9+/]{22,256}$")]
    private static partial Regex IcePwd();

    [GeneratedRegex("^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){19,63}$")]
    private static partial Regex Fingerprint();
}
