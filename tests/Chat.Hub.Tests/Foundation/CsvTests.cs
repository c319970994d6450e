using Chat.Hub.Infrastructure;
using Chat.Hub.Tests.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>
/// The CSV exports' fields and rows (audit, attendance, statistics): as a Russian-locale spreadsheet reads them
/// (<c>;</c> between fields), quoted, never a formula, times in the reader's time zone.
/// </summary>
public sealed class CsvTests
{
    private static readonly TimeZoneInfo Moscow = TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow");

    [Theory]
    [InlineData(null, "\"\"")]
    [InlineData("Иванова Мария", "\"Иванова Мария\"")]
    [InlineData("Школа \"Ромашка\", 5А", "\"Школа \"\"Ромашка\"\", 5А\"")]
    [InlineData("5А; 5Б", "\"5А; 5Б\"")]
    [InlineData("=HYPERLINK(\"http://evil\")", "\"'=HYPERLINK(\"\"http://evil\"\")\"")]
    [InlineData("+7 900", "\"'+7 900\"")]
    [InlineData("-1", "\"'-1\"")]
    [InlineData("@SUM(A1)", "\"'@SUM(A1)\"")]
    [InlineData("\t=1", "\"'\t=1\"")]
    [InlineData("\r=1", "\"'\r=1\"")]
    [InlineData("a=1", "\"a=1\"")]
    public void Field_IsQuoted_AndALeadingFormulaCharacterIsNeutralised(string? value, string expected) =>
        Assert.Equal(expected, Csv.Field(value));

    [Fact]
    public void File_StartsWithTheUtf8Bom_SoSpreadsheetsReadCyrillic()
    {
        var bytes = Csv.File(new System.Text.StringBuilder("имя\n"));
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        Assert.Equal("имя\n", System.Text.Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3));
    }

    [Fact]
    public void Writer_SeparatesBySemicolon_QuotesText_WritesIntegersPlain_YesNoInRussian_NullEmpty()
    {
        var id = Guid.Parse("0b9a4f5e-52a8-4b8e-9d1f-3c7a1e2b4d6f");
        var csv = new CsvWriter(Moscow)
            .Row("Участник", "Минут")
            .Row("Мария \"Маша\"; 5А", 42, 3_000_000_000L, -7, true, false, null, id, "=1+1");
        Assert.Equal(
            "\"Участник\";\"Минут\"\n" +
            "\"Мария \"\"Маша\"\"; 5А\";42;3000000000;-7;да;нет;;0b9a4f5e-52a8-4b8e-9d1f-3c7a1e2b4d6f;\"'=1+1\"\n",
            csv.ToString());

        // A spreadsheet reads the same cells back: the separator and the quotes inside the name stay in its cell.
        var rows = CsvText.Rows(csv.ToFile());
        Assert.Equal(["Мария \"Маша\"; 5А", "42", "3000000000", "-7", "да", "нет", "", id.ToString(), "'=1+1"], rows[1]);
    }

    [Fact]
    public void Writer_WritesTimesAndDaysInItsZone()
    {
        var at = new DateTimeOffset(2025, 3, 9, 20, 5, 9, TimeSpan.Zero);
        var yekaterinburg = new CsvWriter(TimeZoneInfo.FindSystemTimeZoneById("Asia/Yekaterinburg"));
        // A day is a date already (the statistics' local days): written as it is.
        yekaterinburg.Row(at, at.UtcDateTime, DateTime.SpecifyKind(at.UtcDateTime, DateTimeKind.Unspecified), new DateOnly(2025, 3, 10));
        Assert.Equal("10.03.2025 01:05:09;10.03.2025 01:05:09;10.03.2025 01:05:09;10.03.2025\n", yekaterinburg.ToString());
        Assert.Equal("Время (Asia/Yekaterinburg)", yekaterinburg.Zoned("Время"));

        var moscow = new CsvWriter(Moscow);
        moscow.Row(at, new DateOnly(2025, 3, 9));
        Assert.Equal("09.03.2025 23:05:09;09.03.2025\n", moscow.ToString());
    }

    [Fact]
    public void Writer_RefusesAFieldItCannotWriteUnambiguously() =>
        Assert.Throws<ArgumentException>(() => new CsvWriter(Moscow).Row(1.5));

    [Theory]
    [InlineData(null, "Europe/Moscow")]
    [InlineData("", "Europe/Moscow")]
    [InlineData("Asia/Yekaterinburg", "Asia/Yekaterinburg")]
    [InlineData("Europe/Kaliningrad", "Europe/Kaliningrad")]
    [InlineData("UTC", "UTC")]
    public void TimeZone_IsTheNamedIanaZone_OrMoscowWhenNoneIsNamed(string? tz, string expected) =>
        Assert.Equal(expected, Csv.TimeZone(tz).Id);

    [Theory]
    [InlineData("Mars/Olympus")]
    [InlineData("Russian Standard Time")]
    [InlineData("../../etc/passwd")]
    [InlineData("/usr/share/zoneinfo/Europe/Moscow")]
    [InlineData("+03:00")]
    public void TimeZone_Unknown_IsAValidationErrorOnTz(string tz)
    {
        var e = Assert.Throws<ChatException>(() => Csv.TimeZone(tz));
        Assert.Equal("validation_failed", e.Error.Code);
        Assert.Equal(400, e.Error.Status);
        Assert.Matches("[А-Яа-я]", Assert.Single(e.FieldErrors!["tz"]));
    }
}
