namespace Chat.Storage.Statistics;

/// <summary>
/// SQL for the days of a time zone, the IANA name in the parameter <c>@timeZone</c> (the statistics count days of the
/// reader's zone; PostgreSQL knows its daylight saving time).
/// </summary>
public static class LocalDays
{
    /// <summary>The local day an instant (a <c>timestamptz</c> expression) falls on: a <c>date</c>.</summary>
    public static string Of(string instant) => $"(({instant}) AT TIME ZONE @timeZone)::date";

    /// <summary>
    /// The instant the local day <paramref name="daysBack"/> (an integer expression) days before today starts: its
    /// local midnight (the date is cast to a local <c>timestamp</c> first: a bare date would be read in the session's zone).
    /// </summary>
    public static string Start(string daysBack) => $"(({Of("now()")} - ({daysBack}))::timestamp AT TIME ZONE @timeZone)";
}
