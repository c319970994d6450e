namespace Chat.Signaling.Sdp;

/// <summary>A parsed SDP (RFC 8866) with the parts signaling cares about; unknown attributes are kept as raw pairs.</summary>
public sealed record SessionDescription(
    string Origin,
    IReadOnlyList<SdpAttribute> Attributes,
    IReadOnlyList<MediaDescription> Media)
{
    /// <summary>The value of the first session-level attribute with that name, or null.</summary>
    public string? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name)?.Value;
}

/// <summary>One <c>a=</c> line: <c>a=name</c> (Value null) or <c>a=name:value</c>.</summary>
public sealed record SdpAttribute(string Name, string? Value);

/// <summary>The direction of a media section; SendRecv when the section names none.</summary>
public enum MediaDirection
{
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// <summary>A codec named by an <c>a=rtpmap</c> line.</summary>
public sealed record SdpCodec(int PayloadType, string Name, int ClockRate, int? Channels);

/// <summary>One <c>m=</c> section.</summary>
public sealed record MediaDescription(
    string Kind,
    int Port,
    string Protocol,
    IReadOnlyList<string> Formats,
    IReadOnlyList<SdpAttribute> Attributes)
{
    /// <summary>The value of the first attribute with that name in this section, or null.</summary>
    public string? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name)?.Value;

    public bool Has(string name) => Attributes.Any(a => a.Name == name);

    public string? Mid => Attribute("mid");

    public MediaDirection Direction =>
        Has("sendonly") ? MediaDirection.SendOnly
        : Has("recvonly") ? MediaDirection.RecvOnly
        : Has("inactive") ? MediaDirection.Inactive
        : MediaDirection.SendRecv;

    /// <summary>Codecs from the <c>a=rtpmap</c> lines, in the order of the m-line's format list.</summary>
    public IReadOnlyList<SdpCodec> Codecs
    {
        get
        {
            var maps = new Dictionary<int, SdpCodec>();
            foreach (var a in Attributes.Where(a => a.Name == "rtpmap" && a.Value is not null))
            {
                if (SdpParser.TryParseRtpMap(a.Value!, out var codec))
                {
                    maps.TryAdd(codec.PayloadType, codec);
                }
            }

            var list = new List<SdpCodec>();
            foreach (var f in Formats)
            {
                if (int.TryParse(f, out var pt) && maps.TryGetValue(pt, out var c))
                {
                    list.Add(c);
                }
            }

            return list;
        }
    }

    public IEnumerable<string> Candidates => Attributes.Where(a => a.Name == "candidate" && a.Value is not null).Select(a => a.Value!);

    /// <summary>True when the port is 0: the section is rejected or stopped.</summary>
    public bool IsRejected => Port == 0;
}
