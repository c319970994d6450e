using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>Presence («в сети»): GetPresence asked by the page for its direct chats' peers and the members of «О чате».</summary>
[Collection(WebCollection.Name)]
public sealed class PresenceTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task ClassmateSignsIn_DotAppearsInListHeaderAndMembers_GoesWhenHeClosesHisPage()
    {
        var school = await Scene.SchoolAsync("Школа №71");
        var classId = await school.ClassAsync("6В");
        await school.TeacherAsync("Елена Викторовна", classTeacherOf: classId);
        var anya = await school.PupilAsync("Аня Белова", classId);
        var petya = await school.PupilAsync("Петя Глебов", classId);
        const string Petya = "Петя Глебов";
        await Scene.Read(await anya.Http.PostAsJsonAsync($"/api/schools/{school.Id}/direct-chats", new { accountId = petya.Id }));

        // Аня's page refreshes presence every second (the knob; 45 s otherwise). Петя is not online: no dot.
        var page = await PresencePageAsync(Desktop);
        await SignInAsync(page, anya.Phone, goTo: false);
        var item = ChatItem(page, Petya);
        await Expect(item).ToBeVisibleAsync();
        var dot = item.GetByRole(AriaRole.Img, new() { Name = "в сети" });
        await Expect(dot).ToHaveCountAsync(0);
        await Expect(item.Locator(".presence-dot")).ToBeHiddenAsync();

        // He signs in on his own page: the dot appears with the next refresh, and her chat's header says «в сети».
        var petyaPage = await PageAsync(Phone);
        await SignInAsync(petyaPage, petya.Phone);
        await Expect(dot).ToBeVisibleAsync();
        await OpenChatAsync(page, Petya);
        var status = page.Locator(".chat-head .presence-text");
        await Expect(status).ToHaveTextAsync("в сети");
        await Expect(status).ToBeVisibleAsync();

        // «О чате» of the class chat marks him, not the class teacher (signed out) nor Аня herself.
        await OpenChatAsync(page, "6В");
        await Expect(page.Locator(".chat-head .presence-text")).ToHaveCountAsync(0); // not a direct chat
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        var members = page.Locator(".side-panel .members");
        await Expect(MemberOnline(members, Petya)).ToBeVisibleAsync();
        await Expect(MemberOnline(members, "Елена Викторовна")).ToHaveCountAsync(0);
        await Expect(MemberOnline(members, "Аня Белова")).ToHaveCountAsync(0);
        await Expect(members.GetByRole(AriaRole.Img, new() { Name = "в сети" })).ToHaveCountAsync(1);
        await Screenshot(page, "presence-desktop");

        // He closes his page: at the next refresh the dot goes, in the list and in «О чате».
        await petyaPage.CloseAsync();
        await Expect(dot).ToHaveCountAsync(0);
        await Expect(MemberOnline(members, Petya)).ToHaveCountAsync(0);
        await Expect(page.Locator(".presence-dot:visible")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task NoDirectChats_NoCall_MembersAskedWhenAboutOpens_HiddenTabAsksNothing_VisibleAgainAsksAtOnce()
    {
        var school = await Scene.SchoolAsync("Школа №72");
        var classId = await school.ClassAsync("7Г");
        var kolya = await school.PupilAsync("Коля Зуев", classId);
        await school.PupilAsync("Лиза Мухина", classId);

        // Коля has no direct chats: his page asks nothing, however many refreshes go by (absence needs a wait: 2.5 of them).
        var page = await PresencePageAsync(Desktop, NotificationTests.ControlVisibility, CountPresenceCalls);
        await SignInAsync(page, kolya.Phone, goTo: false);
        await Expect(ChatItem(page, "7Г")).ToBeVisibleAsync();
        await page.WaitForTimeoutAsync(2500);
        Assert.Equal(0, await PresenceCalls(page));

        // «О чате» asks for its members at once, and again with every refresh while it is open.
        await OpenChatAsync(page, "7Г");
        await (await HeaderMenuItemAsync(page, "О чате")).ClickAsync();
        await Expect(page.Locator(".side-panel .member-name").Filter(new() { HasText = "Лиза Мухина" })).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => window.__presenceCalls >= 2");

        // The tab hidden: no refresh; visible again: one at once.
        await page.EvaluateAsync("() => window.__setHidden(true)");
        var before = await PresenceCalls(page);
        await page.WaitForTimeoutAsync(2500);
        Assert.Equal(before, await PresenceCalls(page));
        await page.EvaluateAsync("() => window.__setHidden(false)");
        await page.WaitForFunctionAsync($"() => window.__presenceCalls > {before}");

        // «О чате» closed: nobody to ask about again.
        await page.Locator(".side-panel").GetByRole(AriaRole.Button, new() { Name = "Закрыть" }).ClickAsync();
        await Expect(page.Locator(".side-panel")).ToBeHiddenAsync();
        var closed = await PresenceCalls(page);
        await page.WaitForTimeoutAsync(2500);
        Assert.Equal(closed, await PresenceCalls(page));
    }

    /// <summary>Counts the GetPresence invocations the page sends over its hub connection (SignalR's JSON protocol).</summary>
    private const string CountPresenceCalls = """
        (() => {
          window.__presenceCalls = 0;
          const send = WebSocket.prototype.send;
          WebSocket.prototype.send = function (data) {
            if (typeof data === 'string' && data.includes('"target":"GetPresence"')) window.__presenceCalls++;
            return send.call(this, data);
          };
        })();
        """;

    private static Task<int> PresenceCalls(IPage page) => page.EvaluateAsync<int>("() => window.__presenceCalls");

    /// <summary>A page whose presence refresh runs every second (`localStorage['chat.presenceMs']`), not yet signed in.</summary>
    private async Task<IPage> PresencePageAsync(ViewportSize size, params string[] initScripts)
    {
        var page = await PageAsync(size);
        foreach (var script in initScripts)
        {
            await page.Context.AddInitScriptAsync(script);
        }

        await page.GotoAsync(App.BaseUrl + "/");
        await page.EvaluateAsync("() => localStorage.setItem('chat.presenceMs', '1000')");
        return page;
    }

    private static ILocator MemberOnline(ILocator members, string name) =>
        members.Locator("li.member", new() { Has = members.Page.Locator(".member-name", new() { HasText = name }) })
            .GetByRole(AriaRole.Img, new() { Name = "в сети" });
}
