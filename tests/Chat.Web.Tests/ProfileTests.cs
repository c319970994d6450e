using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Chat.Hub.Features.Accounts;
using Chat.Storage.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Web.Tests;

/// <summary>«Профиль»: the name, devices and sessions, the data export and account deletion.</summary>
[Collection(WebCollection.Name)]
public sealed class ProfileTests(WebApp app) : WebTest(app)
{
    [Fact]
    public async Task Parent_EndsOtherSession_Renames_DownloadsOwnData_DeletesAccount()
    {
        var school = await Scene.SchoolAsync("Школа №41");
        var classId = await school.ClassAsync("3А");
        var masha = await school.PupilAsync("Маша Соколова", classId);
        var vanya = await school.PupilAsync("Ваня Петров", classId);
        // Irina is signed in on her phone's app (one session) and, below, in the browser (a second one).
        var irina = await school.JoinAsync(await App.SignInAsync(Scene.NewPhone(), "Ирина Соколова", device: "Телефон Android"), "parent", childId: masha.Id);
        var oleg = await school.ParentAsync("Олег Петров", vanya.Id);
        var parentsChat = await School.ChatIdAsync(oleg, school.Id, "Родители 3А");
        await School.SendAsync(irina, parentsChat, "Собрание в пятницу в 18:00");
        await School.SendAsync(oleg, parentsChat, "Спасибо, приду");

        var page = await PageAsync(Phone);
        await SignInAsync(page, irina.Phone);
        await Expect(ChatItem(page, "Родители 3А")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();

        // Both sessions, this one marked; the other is ended after a confirmation and its token stops working.
        var sessions = page.Locator("li.session");
        await Expect(sessions).ToHaveCountAsync(2);
        var current = sessions.Filter(new() { HasText = "это устройство" });
        await Expect(current).ToContainTextAsync("Веб: Chrome, Linux");
        await Expect(current).ToContainTextAsync("Вход: только что");
        await Expect(current.GetByRole(AriaRole.Button, new() { Name = "Завершить" })).ToHaveCountAsync(0);
        var other = sessions.Filter(new() { HasText = "Телефон Android" });
        await Expect(other).Not.ToContainTextAsync("это устройство");
        await ScreenshotBoth(page, "profile");
        var end = other.GetByRole(AriaRole.Button, new() { Name = "Завершить" });
        await end.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Завершить сеанс?" });
        await Expect(dialog).ToContainTextAsync("«Телефон Android»");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Отмена" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(end).ToBeFocusedAsync();
        Assert.Equal(HttpStatusCode.OK, (await irina.Http.GetAsync("/api/me")).StatusCode);
        await end.ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Завершить сеанс" }).ClickAsync();
        await Expect(sessions).ToHaveCountAsync(1);
        await Expect(sessions).ToContainTextAsync("это устройство");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Устройства и сеансы" })).ToBeFocusedAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await irina.Http.GetAsync("/api/me")).StatusCode);

        // A blank name is refused by the server, in the form; the new name is what a classmate's parent sees.
        var name = page.GetByLabel("Имя и фамилия");
        await Expect(name).ToHaveValueAsync("Ирина Соколова");
        await name.FillAsync("   ");
        await page.GetByRole(AriaRole.Button, new() { Name = "Сохранить" }).ClickAsync();
        await Expect(page.Locator("section[aria-labelledby=me-name-h] .error")).ToHaveTextAsync("Имя должно содержать от 1 до 100 символов.");
        await name.FillAsync("Ирина Соколова-Белова");
        await name.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Имя сохранено." })).ToBeVisibleAsync();
        await Expect(page.Locator("section[aria-labelledby=me-name-h] .error")).ToBeEmptyAsync();

        var olegPage = await PageAsync(Desktop);
        await SignInAsync(olegPage, oleg.Phone);
        await OpenChatAsync(olegPage, "Родители 3А");
        var irinasMessage = MessageCard(olegPage, "Собрание в пятницу в 18:00");
        await Expect(irinasMessage.Locator(".who")).ToHaveTextAsync("Ирина Соколова-Белова");

        // The export: her own account and messages, nobody else's phone or messages.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Скачать мои данные" }).ClickAsync());
        Assert.Matches(new Regex(@"^мои-данные-\d{4}-\d{2}-\d{2}\.json$"), download.SuggestedFilename);
        var text = await File.ReadAllTextAsync(await download.PathAsync());
        using (var export = JsonDocument.Parse(text))
        {
            Assert.Equal("Ирина Соколова-Белова", export.RootElement.GetProperty("account").GetProperty("displayName").GetString());
            Assert.Equal(SignInIdentity.NormalizePhone(irina.Phone), export.RootElement.GetProperty("account").GetProperty("phone").GetString());
            Assert.Contains(export.RootElement.GetProperty("messages").EnumerateArray(), m => m.GetProperty("text").GetString() == "Собрание в пятницу в 18:00");
        }

        Assert.DoesNotContain(SignInIdentity.NormalizePhone(oleg.Phone)!, text, StringComparison.Ordinal);
        Assert.DoesNotContain(oleg.Phone[2..], text, StringComparison.Ordinal);
        Assert.DoesNotContain("Спасибо, приду", text, StringComparison.Ordinal);

        // Deletion says what happens (at once, this school keeps her messages signed «Удалённый пользователь») and asks
        // for the word the server wants; a wrong one is refused in the dialog.
        var deletion = page.Locator("section[aria-labelledby=me-delete-h]");
        await Expect(deletion).ToContainTextAsync("сразу и навсегда");
        await Expect(deletion.Locator("li.school-fate")).ToHaveTextAsync("«Школа №41»: ваши сообщения останутся в чатах с подписью «Удалённый пользователь».");
        var token = await page.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('chat.tokens')).accessToken");
        await deletion.GetByRole(AriaRole.Button, new() { Name = "Удалить аккаунт…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Удалить аккаунт навсегда?" });
        await confirm.GetByLabel("Слово «УДАЛИТЬ»").FillAsync("удалить");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Удалить аккаунт" }).ClickAsync();
        await Expect(confirm.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Чтобы удалить аккаунт, введите слово «УДАЛИТЬ».");
        await ScreenshotBoth(page, "profile-delete");
        await confirm.GetByLabel("Слово «УДАЛИТЬ»").FillAsync("УДАЛИТЬ");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Удалить аккаунт" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Аккаунт удалён." })).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('chat.tokens')"));

        // The server: her token is dead, her personal data gone, she is out of the school, her message stays unsigned.
        using (var http = App.Http(token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/me")).StatusCode);
        }

        await using (var scope = App.Services.CreateAsyncScope())
        {
            var account = await scope.ServiceProvider.GetRequiredService<AccountStore>().GetAsync(irina.Id, CancellationToken.None);
            Assert.NotNull(account?.DeletedAt);
            Assert.Equal("Удалённый пользователь", account.DisplayName);
            Assert.Null(account.Phone);
        }

        var members = await Scene.Read(await school.Admin.Http.GetAsync($"/api/schools/{school.Id}/members"));
        Assert.DoesNotContain(members.EnumerateArray(), m => m.GetProperty("accountId").GetGuid() == irina.Id);
        await olegPage.ReloadAsync();
        await OpenChatAsync(olegPage, "Родители 3А");
        await Expect(irinasMessage.Locator(".who")).ToHaveTextAsync("Удалённый пользователь");
    }

    [Fact]
    public async Task Admin_OnPhone_SignsOutEverywhere_OtherBrowserIsSignedOutToo()
    {
        var school = await Scene.SchoolAsync("Школа №42");

        var desktop = await PageAsync(Desktop);
        await SignInAsync(desktop, school.Admin.Phone);
        await Expect(desktop.GetByRole(AriaRole.Button, new() { Name = "Управление школой" })).ToBeVisibleAsync();

        var page = await PageAsync(Phone);
        await SignInAsync(page, school.Admin.Phone);
        var profile = page.GetByRole(AriaRole.Button, new() { Name = "Профиль" });
        await Expect(profile).ToBeInViewportAsync();
        await profile.ClickAsync();

        // Three sessions: the scene's API sign-in (no device name) and two browsers; the phone's is this one.
        var sessions = page.Locator("li.session");
        await Expect(sessions).ToHaveCountAsync(3);
        await Expect(sessions.Filter(new() { HasText = "Неизвестное устройство" })).ToHaveCountAsync(1);
        await Expect(sessions.Filter(new() { HasText = "это устройство" })).ToHaveCountAsync(1);
        await Expect(page.Locator("section[aria-labelledby=me-delete-h]")).ToContainTextAsync("единственный администратор");

        // «Выйти на всех устройствах» asks first: «Отмена» keeps everything and gives the focus back.
        var everywhere = page.GetByRole(AriaRole.Button, new() { Name = "Выйти на всех устройствах" });
        await everywhere.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Выйти на всех устройствах?" });
        await Expect(dialog).ToContainTextAsync("и этот тоже");
        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(everywhere).ToBeFocusedAsync();
        Assert.Equal(HttpStatusCode.OK, (await school.Admin.Http.GetAsync("/api/me")).StatusCode);

        // Confirmed, every session ends: this page and the other browser are back at the sign-in screen.
        await everywhere.ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Выйти везде" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Вы вышли на всех устройствах." })).ToBeVisibleAsync();
        await Expect(desktop.GetByRole(AriaRole.Heading, new() { Name = "Вход в школьный мессенджер" })).ToBeVisibleAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await school.Admin.Http.GetAsync("/api/me")).StatusCode);
    }

    /// <summary>
    /// A mother with a son in Школа №44 (he moved away) and a daughter in Гимназия №12: in «Мои школы» she leaves Школа
    /// №44 herself (the dialog says what follows, her reason goes to the school's admins); the gymnasium stays, and she
    /// is taken straight into it. A school where she is staff is not hers to leave here.
    /// </summary>
    [Fact]
    public async Task Parent_LeavesASchoolHerselfInTheProfile_TheOtherSchoolStays()
    {
        var first = await Scene.SchoolAsync("Школа №44");
        var second = await Scene.SchoolAsync("Гимназия №12");
        var son = await first.PupilAsync("Вова Лебедев", await first.ClassAsync("3А"));
        var daughter = await second.PupilAsync("Катя Лебедева", await second.ClassAsync("7Б"));
        var mother = await first.ParentAsync("Ольга Лебедева", son.Id);
        await second.JoinAsync(mother, "parent", childId: daughter.Id);

        var page = await PageAsync(Phone);
        await SignInAsync(page, mother.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Профиль" }).ClickAsync();
        var schools = page.Locator("section[aria-labelledby=me-schools-h]");
        await Expect(schools.Locator("li")).ToHaveCountAsync(2);
        await schools.Locator("li", new() { HasText = "Школа №44" }).GetByRole(AriaRole.Button, new() { Name = "Выйти из школы…" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Выйти из школы «Школа №44»?" });
        await Expect(dialog).ToContainTextAsync("по новой ссылке-приглашению");
        await dialog.GetByRole(AriaRole.Textbox).FillAsync("Сын перешёл в другую школу");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Выйти из школы" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Вы вышли из школы «Школа №44»." })).ToBeVisibleAsync();
        await Expect(schools.Locator("li")).ToHaveCountAsync(1);
        await Expect(schools.Locator("li")).ToContainTextAsync("Гимназия №12");

        var audit = await Scene.Read(await first.Admin.Http.GetAsync($"/api/schools/{first.Id}/audit"));
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("action").GetString() == "parent.left");

        // Back: with one school left she is in its chats at once.
        await page.GetByRole(AriaRole.Button, new() { Name = "← Назад" }).ClickAsync();
        await Expect(page.Locator(".topbar .title")).ToHaveTextAsync("Гимназия №12");
        await Expect(ChatItem(page, "Родители 7Б")).ToBeVisibleAsync();
    }
}
