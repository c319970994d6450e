namespace Chat.Signaling.Tests.Sdp;

/// <summary>Real SDP captured from headless Chromium by scripts/capture-sdp.sh.</summary>
internal static class SdpTestData
{
    public static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "Sdp", name));

    public static string Offer => Read("chromium-offer-sendrecv.sdp");

    public static string[] Candidates => Read("chromium-candidates.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Replaces the first line that starts with <paramref name="prefix"/> (CRLF kept).</summary>
    public static string ReplaceLine(string sdp, string prefix, string? replacement)
    {
        var lines = sdp.Split("\r\n").ToList();
        var i = lines.FindIndex(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(i >= 0, $"no line starts with {prefix}");
        if (replacement is null)
        {
            lines.RemoveAt(i);
        }
        else
        {
            lines[i] = replacement;
        }

        return string.Join("\r\n", lines);
    }

    public static string ReplaceAll(string sdp, string prefix, string? replacement)
    {
        var lines = sdp.Split("\r\n").Select(l => l.StartsWith(prefix, StringComparison.Ordinal) ? replacement : l).Where(l => l is not null);
        return string.Join("\r\n", lines);
    }
}
