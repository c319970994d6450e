using System.Globalization;
using System.Text;

namespace Chat.Hub.Infrastructure;

/// <summary>
/// The CSV exports (audit, attendance, statistics) as a Russian-locale spreadsheet (Excel, LibreOffice) opens them:
/// fields separated by <c>;</c>, UTF-8 with a BOM, times in the reader's time zone (docs/api.md, «CSV exports»).
/// </summary>
public static class Csv
{
    /// <summary>The field separator a Russian-locale Excel expects (its list separator; a comma is its decimal mark).</summary>
    public const char Separator = ';';

    /// <summary>The time zone of an export whose request names none.</summary>
    public const string DefaultTimeZone = "Europe/Moscow";

    /// <summary>An export as its file: UTF-8 with a BOM, so that spreadsheets read the Cyrillic right.</summary>
    public static byte[] File(StringBuilder csv) => [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(csv.ToString())];

    /// <summary>
    /// One field, quoted; a leading formula character (<c>= + - @</c>, tab, carriage return) is neutralised so that a
    /// spreadsheet does not run a name or a text someone typed as a formula.
    /// </summary>
    public static string Field(string? value)
    {
        var v = value ?? "";
        if (v.Length > 0 && v[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            v = "'" + v;
        }

        return "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>
    /// The time zone an export's request names (<c>tz</c>, an IANA name such as <c>Asia/Yekaterinburg</c>), or
    /// <see cref="DefaultTimeZone"/> when it names none; anything else is <c>400 validation_failed</c> on <c>tz</c>.
    /// </summary>
    public static TimeZoneInfo TimeZone(string? tz)
    {
        if (string.IsNullOrWhiteSpace(tz))
        {
            return TimeZoneInfo.FindSystemTimeZoneById(DefaultTimeZone);
        }

        try
        {
            // IANA names only (a Windows name would also be found here, but the database knows IANA names only).
            if (tz.Length <= 64 && TimeZoneInfo.FindSystemTimeZoneById(tz.Trim()) is { HasIanaId: true } zone)
            {
                return zone;
            }
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or System.Security.SecurityException)
        {
            // answered below (a folder of the zone database, e.g. "Europe", is refused as unreadable: SecurityException)
        }

        throw ChatException.Field("tz", "Неизвестный часовой пояс. Укажите его название из базы IANA, например Europe/Moscow.");
    }
}

/// <summary>
/// Writes one CSV export row by row: fields separated by <see cref="Csv.Separator"/>; text quoted (<see cref="Csv.Field"/>);
/// integers plain; yes/no as «да»/«нет»; times as <c>dd.MM.yyyy HH:mm:ss</c> and days as <c>dd.MM.yyyy</c>, both in
/// <see cref="Zone"/>; an absent value (null) as an empty field.
/// </summary>
public sealed class CsvWriter(TimeZoneInfo zone)
{
    private readonly StringBuilder text = new();

    /// <summary>The time zone the times and days are written in.</summary>
    public TimeZoneInfo Zone { get; } = zone;

    /// <summary>A column header that names the time zone of its times: «Время (Europe/Moscow)».</summary>
    public string Zoned(string header) => $"{header} ({Zone.Id})";

    /// <summary>
    /// One row. A field is a <see cref="string"/> (text), an <see cref="int"/> or <see cref="long"/>, a <see cref="bool"/>,
    /// a <see cref="Guid"/>, a <see cref="DateTimeOffset"/> or a <see cref="DateTime"/> (a UTC instant, written as the
    /// time in <see cref="Zone"/>), a <see cref="DateOnly"/> (a day as it is), or null.
    /// </summary>
    public CsvWriter Row(params ReadOnlySpan<object?> fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                text.Append(Csv.Separator);
            }

            text.Append(Format(fields[i]));
        }

        text.Append('\n');
        return this;
    }

    /// <summary>The export as its file (<see cref="Csv.File"/>).</summary>
    public byte[] ToFile() => Csv.File(text);

    public override string ToString() => text.ToString();

    private string Format(object? value) => value switch
    {
        null => "",
        string s => Csv.Field(s),
        bool b => b ? "да" : "нет",
        int n => n.ToString(CultureInfo.InvariantCulture),
        long n => n.ToString(CultureInfo.InvariantCulture),
        Guid g => g.ToString("D"),
        DateTimeOffset t => Local(t).ToString("dd.MM.yyyy HH:mm:ss", CultureInfo.InvariantCulture),
        DateTime t => Local(t).ToString("dd.MM.yyyy HH:mm:ss", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("dd.MM.yyyy", CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"A CSV field cannot be a {value.GetType().Name}.", nameof(value)),
    };

    private DateTimeOffset Local(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, Zone);

    // A DateTime read from the database is UTC whatever its Kind says (timestamptz, or a timestamp written as UTC).
    private DateTimeOffset Local(DateTime t) => Local(new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)));
}
