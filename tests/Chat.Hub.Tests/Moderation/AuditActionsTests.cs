using System.Text.RegularExpressions;
using Chat.Hub.Features.Moderation;

namespace Chat.Hub.Tests.Moderation;

/// <summary>The journal's CSV names actions in the same Russian words as the admin page's journal.</summary>
public sealed partial class AuditActionsTests
{
    [Fact]
    public void TheCsvNamesEveryActionAsTheAdminPageDoes()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Chat.sln")))
        {
            dir = dir.Parent;
        }

        var js = File.ReadAllText(Path.Combine(dir!.FullName, "src", "Chat.Hub", "wwwroot", "js", "admin.js"));
        var table = Regex.Match(js, @"const ACTION_NAMES = \{(.*?)\n\};", RegexOptions.Singleline).Groups[1].Value;
        var page = Pair().Matches(table).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.True(page.Count > 40, $"ACTION_NAMES not read from admin.js ({page.Count} entries)");
        Assert.Equal(page.OrderBy(p => p.Key, StringComparer.Ordinal), AuditActions.Names.OrderBy(p => p.Key, StringComparer.Ordinal));

        Assert.Equal("правило школы сохранено", AuditActions.Name("rule.saved"));
        Assert.Equal("something.new", AuditActions.Name("something.new"));
    }

    [GeneratedRegex(@"'([a-z_.]+)': '([^']+)'")]
    private static partial Regex Pair();
}
