using System.Text;

namespace Chat.Hub.Infrastructure;

/// <summary>The CSV exports (audit, attendance, statistics): fields and files as spreadsheets read them.</summary>
public static class Csv
{
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
}
