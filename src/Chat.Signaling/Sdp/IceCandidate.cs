using System.Globalization;
using System.Net;

namespace Chat.Signaling.Sdp;

/// <summary>A parsed ICE candidate (RFC 8839 section 5.1) as browsers send them in trickle and in <c>a=candidate</c>.</summary>
public sealed record IceCandidate(
    string Foundation,
    int Component,
    string Transport,
    uint Priority,
    IPAddress Address,
    int Port,
    string Type,
    string? RelatedAddress,
    int? RelatedPort,
    string? TcpType)
{
    public const int MaxLength = 512;

    private static readonly HashSet<string> Types = ["host", "srflx", "prflx", "relay"];
    private static readonly HashSet<string> TcpTypes = ["active", "passive", "so"];

    /// <summary>
    /// Parses a candidate line, with or without the <c>candidate:</c> prefix. Only IP literals are accepted:
    /// hostnames and mDNS names (<c>*.local</c>) are refused so the SFU never has to resolve names a client chose.
    /// </summary>
    public static IceCandidate Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw Invalid("empty candidate");
        }

        if (text.Length > MaxLength)
        {
            throw new SdpException("candidate_invalid", $"candidate longer than {MaxLength} characters");
        }

        foreach (var ch in text)
        {
            if (ch < ' ' || ch > '~')
            {
                throw Invalid("control or non-ASCII character");
            }
        }

        if (text.StartsWith("candidate:", StringComparison.Ordinal))
        {
            text = text["candidate:".Length..];
        }

        var f = text.Split(' ');
        if (f.Length < 8 || f.Length > 40)
        {
            throw Invalid("wrong number of fields");
        }

        var foundation = f[0];
        if (foundation.Length is 0 or > 32 || !foundation.All(IsIceChar))
        {
            throw Invalid("bad foundation");
        }

        if (!int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var component) || component is < 1 or > 2)
        {
            throw Invalid("component must be 1 (RTP) or 2 (RTCP)");
        }

        var transport = f[2].ToLowerInvariant();
        if (transport is not ("udp" or "tcp"))
        {
            throw Invalid("transport must be udp or tcp");
        }

        if (!uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var priority) || priority == 0)
        {
            throw Invalid("bad priority");
        }

        var address = ParseAddress(f[4], "address");
        var port = ParsePort(f[5]);
        if (f[6] != "typ" || !Types.Contains(f[7]))
        {
            throw Invalid("missing or unknown typ");
        }

        string? raddr = null;
        int? rport = null;
        string? tcpType = null;
        for (var i = 8; i < f.Length; i += 2)
        {
            if (i + 1 >= f.Length)
            {
                throw Invalid("extension without a value");
            }

            var (name, value) = (f[i], f[i + 1]);
            if (name.Length is 0 or > 32 || value.Length is 0 or > 256 || !SdpParser.IsToken(name))
            {
                throw Invalid("bad extension");
            }

            switch (name)
            {
                case "raddr":
                    raddr = ParseAddress(value, "raddr").ToString();
                    break;
                case "rport":
                    rport = ParsePort(value);
                    break;
                case "tcptype":
                    if (!TcpTypes.Contains(value))
                    {
                        throw Invalid("bad tcptype");
                    }

                    tcpType = value;
                    break;
            }
        }

        if (transport == "tcp" && tcpType is null)
        {
            throw Invalid("tcp candidate without tcptype");
        }

        return new IceCandidate(foundation, component, transport, priority, address, port, f[7], raddr, rport, tcpType);
    }

    private static IPAddress ParseAddress(string text, string field)
    {
        if (text.EndsWith(".local", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid($"mDNS name in {field}");
        }

        // IPAddress.TryParse accepts forms like "1" or "0x7f.1"; insist on dotted quads or a colon-form IPv6.
        var looksLikeIp = text.Contains(':') ? text.All(c => Uri.IsHexDigit(c) || c is ':' or '.')
            : text.Split('.') is { Length: 4 } quads && quads.All(q => q.Length is > 0 and <= 3 && q.All(char.IsAsciiDigit));
        if (!looksLikeIp || !IPAddress.TryParse(text, out var address))
        {
            throw Invalid($"{field} must be an IP address, not a hostname");
        }

        return address;
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw Invalid("bad port");

    private static bool IsIceChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/';

    private static SdpException Invalid(string detail) => new("candidate_invalid", detail);
}
