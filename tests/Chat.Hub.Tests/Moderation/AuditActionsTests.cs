using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Chat.Hub.Features.Moderation;

namespace Chat.Hub.Tests.Moderation;

/// <summary>The journal's CSV names actions and writes their details in the same Russian words as the admin page's journal.</summary>
public sealed partial class AuditActionsTests
{
    [Fact]
    public void TheCsvNamesEveryActionAsTheAdminPageDoes()
    {
        var page = JsMap("admin.js", "ACTION_NAMES");
        Assert.True(page.Count > 40, $"ACTION_NAMES not read from admin.js ({page.Count} entries)");
        AssertSame(page, AuditActions.Names);

        Assert.Equal("правило школы сохранено", AuditActions.Name("rule.saved"));
        Assert.Equal("something.new", AuditActions.Name("something.new"));
    }

    [Fact]
    public void TheCsvDetailsUseTheAdminPagesWords()
    {
        AssertSame(JsMap("dom.js", "ROLE_NAMES"), AuditActions.SchoolRoleNames);
        AssertSame(JsMap("admin.js", "CHAT_ROLE_NAMES"), AuditActions.ChatRoleNames);
        AssertSame(JsMap("admin.js", "AUDIENCE_NAMES"), AuditActions.AudienceNames);
        AssertSame(JsMap("admin.js", "RESOLUTION_NAMES"), AuditActions.ResolutionNames);
        AssertSame(JsMap("admin.js", "DELETED_MESSAGES"), AuditActions.DeletedMessages);

        // The words AuditDetails writes itself are the page's too (in auditDetails of admin.js).
        var details = Regex.Match(Js("admin.js"), @"\n  function auditDetails\(e\) \{(.*?)\n  \}\n", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(details);
        foreach (var words in new[]
                 {
                     "`«${chatTitles.get(d.chatId)}»`", "'?'} → ${", "'роль изменена'", "'для: '", "`медленный режим: ${d.slowModeSeconds} с`",
                     "'правила чата изменены'", "`отозвано ссылок: ${d.count ?? 0}`", "'правило '", "'причина: '", "'до '", ".join(' · ')",
                 })
        {
            Assert.Contains(words, details, StringComparison.Ordinal);
        }
    }

    private static void AssertSame(Dictionary<string, string> page, FrozenDictionary<string, string> server)
    {
        Assert.NotEmpty(page);
        Assert.Equal(page.OrderBy(p => p.Key, StringComparer.Ordinal), server.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    /// <summary>A constant object of string words in a script of wwwroot/js (<c>const NAME = { key: 'слово', … };</c>).</summary>
    private static Dictionary<string, string> JsMap(string file, string name)
    {
        var table = Regex.Match(Js(file), $@"\bconst {name} = \{{(.*?)\}};", RegexOptions.Singleline).Groups[1].Value;
        return Pair().Matches(table).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
    }

    private static string Js(string file)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Chat.sln")))
        {
            dir = dir.Parent;
        }

        return File.ReadAllText(Path.Combine(dir!.FullName, "src", "Chat.Hub", "wwwroot", "js", file));
    }

    [GeneratedRegex(@"'?([a-z_.]+)'?: '([^']+)'")]
    private static partial Regex Pair();
}
