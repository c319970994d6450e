using System.Globalization;

namespace Chat.Signaling.Sdp;

/// <summary>
/// A strict, allocation-bounded SDP parser. It accepts what browsers produce (RFC 8866 line syntax, CRLF or LF)
/// and refuses anything oversized or malformed before any other code looks at the text.
/// </summary>
public static class SdpParser
{
    /// <summary>Parses an SDP; throws <see cref="SdpException"/> on anything that is not well-formed or exceeds the limits.</summary>
    public static SessionDescription Parse(string? sdp, SdpLimits? limits = null)
    {
        limits ??= SdpLimits.Default;
        if (string.IsNullOrEmpty(sdp))
        {
            throw new SdpException("sdp_syntax", "empty SDP");
        }

        if (sdp.Length > limits.MaxBytes)
        {
            throw new SdpException("sdp_too_large", $"SDP is {sdp.Length} characters, the limit is {limits.MaxBytes}");
        }

        foreach (var ch in sdp)
        {
            if (ch == '\0' || (ch < ' ' && ch != '\r' && ch != '\n' && ch != '\t') || ch == '\u007f')
            {
                throw new SdpException("sdp_syntax", "control character in SDP");
            }

            if (ch > '\u007e')
            {
                // Browsers only emit ASCII; anything else is either hostile or garbage.
                throw new SdpException("sdp_syntax", "non-ASCII character in SDP");
            }
        }

        var lines = sdp.Split('\n');
        var count = lines.Length;
        if (count > 0 && lines[count - 1].Length == 0)
        {
            count--;
        }

        if (count > limits.MaxLines)
        {
            throw new SdpException("sdp_too_large", $"SDP has {count} lines, the limit is {limits.MaxLines}");
        }

        string? origin = null;
        var sawVersion = false;
        var sawSession = false;
        var sawTiming = false;
        var sessionAttributes = new List<SdpAttribute>();
        var media = new List<MediaDescription>();
        MediaBuilder? current = null;

        for (var i = 0; i < count; i++)
        {
            var line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            if (line.Length == 0)
            {
                throw new SdpException("sdp_syntax", $"empty line {i + 1}");
            }

            if (line.Length > limits.MaxLineLength)
            {
                throw new SdpException("sdp_too_large", $"line {i + 1} is longer than {limits.MaxLineLength}");
            }

            if (line.Length < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
            {
                throw new SdpException("sdp_syntax", $"line {i + 1} is not <type>=<value>");
            }

            var type = line[0];
            var value = line[2..];
            if (i == 0)
            {
                if (type != 'v' || value != "0")
                {
                    throw new SdpException("sdp_syntax", "SDP must start with v=0");
                }

                sawVersion = true;
                continue;
            }

            switch (type)
            {
                case 'v':
                    throw new SdpException("sdp_syntax", "a second v= line");
                case 'o' when current is null:
                    if (origin is not null)
                    {
                        throw new SdpException("sdp_syntax", "a second o= line");
                    }

                    if (value.Split(' ').Length != 6)
                    {
                        throw new SdpException("sdp_syntax", "o= needs six fields");
                    }

                    origin = value;
                    break;
                case 's' when current is null:
                    sawSession = true;
                    break;
                case 't' when current is null:
                    sawTiming = true;
                    break;
                case 'm':
                    if (origin is null || !sawSession || !sawTiming)
                    {
                        throw new SdpException("sdp_syntax", "m= before o=, s= and t=");
                    }

                    if (current is not null)
                    {
                        media.Add(current.Build());
                    }

                    if (media.Count >= limits.MaxMediaSections)
                    {
                        throw new SdpException("sdp_media", $"more than {limits.MaxMediaSections} media sections");
                    }

                    current = ParseMediaLine(value, limits);
                    break;
                case 'a':
                    var attribute = ParseAttribute(value);
                    var list = current?.Attributes ?? sessionAttributes;
                    if (list.Count >= limits.MaxAttributesPerSection)
                    {
                        throw new SdpException("sdp_too_large", $"more than {limits.MaxAttributesPerSection} attributes in one section");
                    }

                    if (attribute.Name == "candidate" && current is not null
                        && ++current.CandidateCount > limits.MaxCandidatesPerSection)
                    {
                        throw new SdpException("sdp_too_large", $"more than {limits.MaxCandidatesPerSection} candidates in one section");
                    }

                    list.Add(attribute);
                    break;
                case 'c' or 'b' or 'i' or 'u' or 'e' or 'p' or 'z' or 'k' or 'r':
                    // Known but irrelevant to signaling; syntax was checked above.
                    break;
                default:
                    throw new SdpException("sdp_syntax", $"unexpected line type '{type}' on line {i + 1}");
            }
        }

        if (!sawVersion || origin is null || !sawSession || !sawTiming)
        {
            throw new SdpException("sdp_syntax", "SDP needs v=, o=, s= and t= lines");
        }

        if (current is not null)
        {
            media.Add(current.Build());
        }

        return new SessionDescription(origin, sessionAttributes, media);
    }

    /// <summary>Parses the value of an <c>a=rtpmap</c> attribute: <c>96 VP8/90000</c> or <c>111 opus/48000/2</c>.</summary>
    public static bool TryParseRtpMap(string value, out SdpCodec codec)
    {
        codec = null!;
        var space = value.IndexOf(' ');
        if (space <= 0 || !int.TryParse(value.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var pt) || pt > 127)
        {
            return false;
        }

        var parts = value[(space + 1)..].Split('/');
        if (parts.Length is < 2 or > 3 || !IsToken(parts[0])
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var clock))
        {
            return false;
        }

        int? channels = null;
        if (parts.Length == 3)
        {
            if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ch))
            {
                return false;
            }

            channels = ch;
        }

        codec = new SdpCodec(pt, parts[0], clock, channels);
        return true;
    }

    internal static bool IsToken(string s)
    {
        if (s.Length == 0)
        {
            return false;
        }

        foreach (var c in s)
        {
            // RFC 8866 token-char: visible ASCII except separators.
            if (c <= ' ' || c > '~' || c is '"' or '(' or ')' or ',' or '/' or ':' or ';' or '<' or '=' or '>' or '?' or '@' or '[' or '\\' or ']' or '{' or '}')
            {
                return false;
            }
        }

        return true;
    }

    private static MediaBuilder ParseMediaLine(string value, SdpLimits limits)
    {
        var parts = value.Split(' ');
        if (parts.Length < 4)
        {
            throw new SdpException("sdp_syntax", "m= needs media, port, protocol and formats");
        }

        if (!IsToken(parts[0]))
        {
            throw new SdpException("sdp_syntax", "bad media type");
        }

        var portText = parts[1];
        var slash = portText.IndexOf('/');
        if (slash >= 0)
        {
            portText = portText[..slash];
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new SdpException("sdp_syntax", "bad port in m=");
        }

        if (parts.Length - 3 > limits.MaxFormatsPerSection)
        {
            throw new SdpException("sdp_too_large", $"more than {limits.MaxFormatsPerSection} formats in one m= line");
        }

        var formats = parts[3..];
        foreach (var f in formats)
        {
            if (!IsToken(f))
            {
                throw new SdpException("sdp_syntax", "bad format in m=");
            }
        }

        return new MediaBuilder(parts[0], port, parts[2], formats);
    }

    private static SdpAttribute ParseAttribute(string value)
    {
        var colon = value.IndexOf(':');
        var name = colon < 0 ? value : value[..colon];
        if (!IsToken(name))
        {
            throw new SdpException("sdp_syntax", "bad attribute name");
        }

        return new SdpAttribute(name, colon < 0 ? null : value[(colon + 1)..]);
    }

    private sealed class MediaBuilder(string kind, int port, string protocol, string[] formats)
    {
        public List<SdpAttribute> Attributes { get; } = [];

        public int CandidateCount { get; set; }

        public MediaDescription Build() => new(kind, port, protocol, formats, Attributes);
    }
}
