using Chat.Hub.Infrastructure;

namespace Chat.Hub.Tests.Foundation;

/// <summary>The CSV exports' fields (audit, attendance, statistics): quoted, and never a formula in a spreadsheet.</summary>
public sealed class CsvTests
{
    [Theory]
    [InlineData(null, "\"\"")]
    [InlineData("Иванова Мария", "\"Иванова Мария\"")]
    [InlineData("Школа \"Ромашка\", 5А", "\"Школа \"\"Ромашка\"\", 5А\"")]
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
}
