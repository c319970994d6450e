using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>All browser tests share one server and one Chromium, and run one after another (a 2-core machine).</summary>
[CollectionDefinition(Name)]
public sealed class WebCollection : ICollectionFixture<WebApp>
{
    public const string Name = "web";
}

/// <summary>
/// What every browser test needs: pages in their own contexts (phone or desktop size, Russian locale), sign-in through
/// the UI, locators for chats and messages, screenshots. A page's uncaught error (popups included) fails the test.
/// </summary>
public abstract class WebTest(WebApp app) : IAsyncLifetime
{
    protected static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };
    protected static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };

    private readonly List<IBrowserContext> contexts = [];
    private readonly List<string> pageErrors = [];

    static WebTest() => SetDefaultExpectTimeout(15_000);

    protected WebApp App { get; } = app;

    protected Scene Scene { get; } = new(app);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in contexts)
        {
            await context.CloseAsync();
        }

        Assert.True(pageErrors.Count == 0, "errors in the page: " + string.Join("\n", pageErrors));
    }

    /// <summary>The SignalR JSON records of one WebSocket frame (each ends with 0x1E; the handshake is one too).</summary>
    protected static List<JsonElement> Records(string frame) =>
        frame.Split('\u001e', StringSplitOptions.RemoveEmptyEntries).Select(r => JsonDocument.Parse(r).RootElement.Clone()).ToList();

    /// <summary>
    /// Routes the page's hub connection through the test: <paramref name="toServer"/> and <paramref name="toPage"/> see
    /// each SignalR record of a text frame and say whether it goes on (binary frames and unset directions pass as they are).
    /// </summary>
    protected static Task RouteHubAsync(IPage page, Func<JsonElement, bool>? toServer = null, Func<JsonElement, bool>? toPage = null) =>
        page.RouteWebSocketAsync(new System.Text.RegularExpressions.Regex("/hubs/chat"), ws =>
        {
            var server = ws.ConnectToServer();
            ws.OnMessage(f => Pass(f, toServer, server.Send, server.Send));
            server.OnMessage(f => Pass(f, toPage, ws.Send, ws.Send));
        });

    /// <summary>
    /// Routes the page's hub connection through the test frame by frame: <paramref name="toServer"/> (given the page's
    /// side of the connection, to close it) and <paramref name="toPage"/> say whether a frame goes on (unset: every frame
    /// does); <paramref name="opened"/> gets each new connection's page side.
    /// </summary>
    protected static Task ProxyHubAsync(IPage page, Func<IWebSocketRoute, IWebSocketFrame, bool>? toServer = null, Func<IWebSocketFrame, bool>? toPage = null, Action<IWebSocketRoute>? opened = null) =>
        page.RouteWebSocketAsync(new System.Text.RegularExpressions.Regex("/hubs/chat"), ws =>
        {
            opened?.Invoke(ws);
            var server = ws.ConnectToServer();
            ws.OnMessage(f => Forward(f, toServer is null || toServer(ws, f), server.Send, server.Send));
            server.OnMessage(f => Forward(f, toPage is null || toPage(f), ws.Send, ws.Send));
        });

    private static void Forward(IWebSocketFrame frame, bool goesOn, Action<string> sendText, Action<byte[]> sendBinary)
    {
        if (!goesOn)
        {
            return;
        }

        if (frame.Text is { } text)
        {
            sendText(text);
        }
        else
        {
            sendBinary(frame.Binary!);
        }
    }

    private static void Pass(IWebSocketFrame frame, Func<JsonElement, bool>? filter, Action<string> sendText, Action<byte[]> sendBinary)
    {
        if (frame.Text is not { } text)
        {
            sendBinary(frame.Binary!);
            return;
        }

        var kept = filter is null ? [text] : Records(text).Where(filter).Select(r => r.GetRawText() + "\u001e").ToList();
        if (kept.Count > 0)
        {
            sendText(string.Concat(kept));
        }
    }

    protected static bool Is(JsonElement record, string property, string value) =>
        record.ValueKind == JsonValueKind.Object && record.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String && p.GetString() == value;

    protected static ILocator MessageCard(IPage page, string text) =>
        page.Locator(".msg:not(.pending)", new() { Has = page.Locator(".text", new() { HasTextRegex = Exactly(text) }) });

    protected static System.Text.RegularExpressions.Regex Exactly(string text) =>
        new("^" + System.Text.RegularExpressions.Regex.Escape(text) + "$");

    /// <summary>
    /// A page in a new context of the shared browser, or of <paramref name="browser"/> (e.g. <see cref="WebApp.MediaBrowserAsync"/>),
    /// with its clock in <paramref name="timeZone"/>.
    /// </summary>
    protected async Task<IPage> PageAsync(ViewportSize size, IBrowser? browser = null, string timeZone = "Europe/Moscow")
    {
        var context = await (browser ?? App.Browser).NewContextAsync(new BrowserNewContextOptions { ViewportSize = size, Locale = "ru-RU", TimezoneId = timeZone });
        contexts.Add(context);
        context.Page += (_, p) =>
        {
            p.SetDefaultTimeout(15_000);
            p.PageError += (_, error) => pageErrors.Add(p.Url + ": " + error);
        };
        return await context.NewPageAsync();
    }

    protected async Task SignInAsync(IPage page, string phone, bool goTo = true)
    {
        if (goTo && page.Url == "about:blank")
        {
            await page.GotoAsync(App.BaseUrl + "/");
        }

        await page.GetByLabel("Телефон или e-mail").FillAsync(phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Получить код" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Введите код" })).ToBeVisibleAsync();
        var code = App.Codes.Last(Chat.Hub.Features.Accounts.SignInIdentity.NormalizePhone(phone)!);
        await page.GetByLabel("Код из сообщения").FillAsync(code);
        await page.GetByRole(AriaRole.Button, new() { Name = "Войти" }).ClickAsync();
    }

    /// <summary>The school's admin signed in on a desktop page, in «Управление школой»: the page and its classes section.</summary>
    protected async Task<(IPage Page, ILocator Classes)> AdminClassesAsync(School school)
    {
        var page = await PageAsync(Desktop);
        await SignInAsync(page, school.Admin.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Управление школой" }).ClickAsync();
        return (page, page.Locator("#adm-classes-sec"));
    }

    protected static ILocator ChatItem(IPage page, string title) =>
        page.Locator(".chat-item", new() { Has = page.Locator(".name", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(title) + "( 📢)?$") }) });

    protected static ILocator Message(IPage page, string text) =>
        page.Locator(".msg:not(.pending) .text", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(text) + "$") });

    protected static async Task OpenChatAsync(IPage page, string title)
    {
        // On a phone an open chat covers the list: go back to it first.
        var back = page.GetByRole(AriaRole.Button, new() { Name = "К списку чатов" });
        if (await back.IsVisibleAsync())
        {
            await back.ClickAsync();
        }

        await ChatItem(page, title).ClickAsync();
        await Expect(page.Locator(".chat-head h2")).ToHaveTextAsync(title);
        await Expect(page.Locator(".messages[data-loaded]")).ToHaveCountAsync(1);
    }

    /// <summary>An action of the open chat's header that is in its «Ещё» menu: opens the menu (unless open) and finds the item.</summary>
    protected static async Task<ILocator> HeaderMenuItemAsync(IPage page, string name)
    {
        var more = page.Locator(".chat-head").GetByRole(AriaRole.Button, new() { Name = "Ещё действия" });
        if (await more.GetAttributeAsync("aria-expanded") != "true")
        {
            await more.ClickAsync();
        }

        var item = page.GetByRole(AriaRole.Menu, new() { Name = "Ещё действия" }).GetByRole(AriaRole.Menuitem, new() { Name = name, Exact = true });
        await Expect(item).ToBeVisibleAsync();
        return item;
    }

    /// <summary>«Завершить звонок» on a call page, confirmed in the page's dialog («Отмена» there would keep the call).</summary>
    protected static async Task EndCallForAllAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Завершить звонок" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog, new() { Name = "Завершить звонок для всех?" }).GetByRole(AriaRole.Button, new() { Name = "Завершить" }).ClickAsync();
    }

    protected static async Task SendAsync(IPage page, string text)
    {
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Сообщение" });
        await box.FillAsync(text);
        await box.PressAsync("Enter");
    }

    /// <summary>With CHAT_WEB_SCREENSHOTS=1, saves the page to docs/screenshots/NAME.png (they are committed).</summary>
    /// <summary>The same screen at phone and at desktop size: NAME-phone.png and NAME-desktop.png.</summary>
    protected static async Task ScreenshotBoth(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("CHAT_WEB_SCREENSHOTS") != "1")
        {
            return;
        }

        var size = page.ViewportSize;
        await page.SetViewportSizeAsync(Phone.Width, Phone.Height);
        await Screenshot(page, name + "-phone");
        await page.SetViewportSizeAsync(Desktop.Width, Desktop.Height);
        await Screenshot(page, name + "-desktop");
        if (size is not null)
        {
            await page.SetViewportSizeAsync(size.Width, size.Height);
        }
    }

    protected static async Task Screenshot(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("CHAT_WEB_SCREENSHOTS") != "1")
        {
            return;
        }

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Chat.sln")))
        {
            dir = dir.Parent;
        }

        var target = Path.Combine(dir!.FullName, "docs", "screenshots");
        Directory.CreateDirectory(target);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(target, name + ".png") });
    }
}
