using System.Text;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// Reads an export as a spreadsheet does (RFC 4180 with <c>;</c>): a quoted field may hold the separator, quotes
/// (doubled) and line breaks. For tests that check what a cell holds, not how the file spells it.
/// </summary>
public static class CsvText
{
    /// <summary>The rows of an export's bytes, which must start with the UTF-8 BOM.</summary>
    public static List<string[]> Rows(byte[] file)
    {
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, file[..3]);
        return Rows(Encoding.UTF8.GetString(file, 3, file.Length - 3));
    }

    public static List<string[]> Rows(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(ch);
                }
            }
            else if (ch == '"')
            {
                Assert.True(field.Length == 0, $"a quote inside an unquoted field at {i}");
                quoted = true;
            }
            else if (ch == ';')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (ch == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add([.. row]);
                row.Clear();
            }
            else
            {
                field.Append(ch);
            }
        }

        Assert.False(quoted, "the file ends inside a quoted field");
        Assert.True(field.Length == 0 && row.Count == 0, "the last row has no line end");
        return rows;
    }
}
